//! A brand configuration that cannot be loaded fails the batch (`RunResult::Err`, which
//! Arroyo reports) instead of silently matching nothing. Its own test binary: the
//! configuration is loaded once per process.

use flashpoint_udf::ffi::call_text;

#[test]
fn fp_brands_with_a_missing_config_reports_an_error() {
    std::env::set_var(flashpoint_udf::CONFIG_ENV, "no/such/brands.toml");
    let texts: [Option<&[u8]>; 1] = [Some(b"brightline")];
    assert_eq!(call_text(fp_brands::__run, &texts), None);
    // Every later batch fails the same way (nothing half-loaded).
    assert_eq!(call_text(fp_brands::__run, &texts), None);
}
