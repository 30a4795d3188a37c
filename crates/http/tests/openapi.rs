//! The whole OpenAPI document is a snapshot: any change to the API shows up in review as a
//! change of `snapshots/openapi__openapi_document.snap`. Accept a deliberate change with
//! `INSTA_UPDATE=always cargo test -p craftastic-http --test openapi` (or `cargo insta review`).

#[test]
fn openapi_document() {
    insta::assert_json_snapshot!(craftastic_http::openapi());
}
