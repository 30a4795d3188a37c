//! The screen rules against the corpus in `tests/screens/` (see its README): every screen
//! gives the state its file name starts with, or no state for `none--…`.

use std::path::Path;

use craftastic_domain::ActivityState;
use craftastic_service::activity::rules::classify;

#[test]
fn every_screen_of_the_corpus_gives_its_state() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/screens");
    let mut checked = 0;
    let mut wrong = Vec::new();
    for agent in std::fs::read_dir(&root).unwrap() {
        let agent = agent.unwrap();
        if !agent.file_type().unwrap().is_dir() {
            continue;
        }
        let kind = agent.file_name().into_string().unwrap();
        for file in std::fs::read_dir(agent.path()).unwrap() {
            let path = file.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            let (expected, _) = name
                .split_once("--")
                .unwrap_or_else(|| panic!("{kind}/{name}: the name must be STATE--what.txt"));
            let expected = match expected {
                "none" => None,
                s => Some(
                    ActivityState::parse(s)
                        .unwrap_or_else(|| panic!("{kind}/{name}: {s} is not a state")),
                ),
            };
            let screen = std::fs::read_to_string(&path).unwrap();
            let found = classify(&kind, &screen).map(|(state, _)| state);
            if found != expected {
                wrong.push(format!(
                    "{kind}/{name}: expected {expected:?}, found {found:?}"
                ));
            }
            checked += 1;
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(checked >= 25, "only {checked} screens in the corpus");
}
