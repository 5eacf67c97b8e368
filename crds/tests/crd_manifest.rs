//! The committed CRD manifest matches the one generated from the Rust types.

#[test]
fn committed_crd_yaml_matches_the_generated_one() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/ticketevents.yaml");
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == ticketing_crds::crd_yaml(),
        "{path} is stale: run `cargo run -p ticketing-operator -- crd > crds/ticketevents.yaml`"
    );
}
