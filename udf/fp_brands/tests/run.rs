//! `fp_brands` through the entry point the Arroyo host calls (`__run` with FFI arrays), on
//! the embedded demo brands (`FLASHPOINT_CONFIG` unset in this test binary).

use flashpoint_udf::ffi::{call_text, INVALID_UTF8};

#[test]
fn fp_brands_matches_like_the_main_crate_and_keeps_nulls() {
    assert!(
        std::env::var_os(flashpoint_udf::CONFIG_ENV).is_none(),
        "this test expects the embedded demo brands"
    );
    let texts: [Option<&[u8]>; 7] = [
        Some(b"the plumber from Brightline Plumbing was drinking in his van @veloramotors"),
        Some(b"took the brightline train to Miami"),
        Some(b"visit https://brightline.example/offers"),
        Some(b"nothing to see here"),
        None,
        Some(INVALID_UTF8),
        Some("\u{bf}BRIGHTLINE? #northwind".as_bytes()),
    ];
    let out = call_text(fp_brands::__run, &texts).expect("the UDF ran");
    assert_eq!(
        out,
        [
            Some(String::from("brightline,velora")),
            None,
            None,
            None,
            None,
            Some(String::from("brightline")),
            Some(String::from("brightline,northwind")),
        ]
    );
}

#[test]
fn fp_brands_empty_batch() {
    assert_eq!(call_text(fp_brands::__run, &[]), Some(Vec::new()));
}
