//! Loading real flag directories from `tests/fixtures/`.

// Discovery with and without a `.flipt.yml` index, and unreadable files.
mod discovery;
// The fixture with every kind of mistake, and its full report.
mod mistakes;
// A valid namespace spread over YAML and JSON files, compared to the expected model.
mod valid;
