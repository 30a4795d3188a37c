//! The whole OpenAPI document is a snapshot: any change to the API shows up in review as a
//! change of `snapshots/openapi__openapi_document.snap`. Accept a deliberate change with
//! `INSTA_UPDATE=always cargo test -p craftastic-http --test openapi` (or `cargo insta review`).

#[test]
fn openapi_document() {
    insta::assert_json_snapshot!(craftastic_http::openapi());
}

#[test]
fn operation_ids_are_unique() {
    let doc = serde_json::to_value(craftastic_http::openapi()).unwrap();
    let mut ids: Vec<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|item| item.as_object().unwrap().values())
        .filter_map(|op| op["operationId"].as_str())
        .collect();
    let all = ids.len();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), all, "operation ids repeat: {ids:?}");
}
