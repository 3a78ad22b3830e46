//! `FLASHPOINT_CONFIG` names the brand configuration (own test binary: loaded once).

use flashpoint_udf::ffi::call_text;

#[test]
fn fp_brands_uses_the_configured_brands() {
    let dir = std::env::temp_dir().join(format!("fp-udf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("brands.toml");
    std::fs::write(
        &path,
        "[[brand]]\nid = \"acme\"\nname = \"Acme\"\nterms = [\"acme\"]\n",
    )
    .unwrap();
    std::env::set_var(flashpoint_udf::CONFIG_ENV, &path);
    let texts: [Option<&[u8]>; 2] = [Some(b"acme anvils, not brightline"), Some(b"brightline")];
    let out = call_text(fp_brands::__run, &texts);
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(out, Some(vec![Some(String::from("acme")), None]));
}
