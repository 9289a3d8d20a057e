//! Checksums of migrations, to notice one edited after it was applied.
//!
//! A checksum is SHA-256 over the migration's SQL items, each normalised so
//! that line endings (`\r\n`, `\r`, `\n`) and trailing whitespace do not
//! matter, while everything else (a changed literal, an added statement,
//! statements moved between items) does. A chain folds the checksums of
//! versions 1..=v into one hash, stored with the newest row, so a single
//! read verifies the whole applied history.

use sha2::{Digest, Sha256};

/// The checksum of a migration's SQL items; what
/// [`Migration::checksum`](crate::Migration::checksum) returns.
///
/// # Examples
///
/// ```
/// use migrate_core::checksum::checksum;
///
/// let base = checksum(["CREATE TABLE t (\n  a INT\n)", "SELECT 1"]);
///
/// // Line endings and trailing whitespace do not matter ...
/// assert_eq!(base, checksum(["CREATE TABLE t (\r\n  a INT  \r\n)\r\n", "SELECT 1 "]));
///
/// // ... anything else does: indentation, a literal, where items split.
/// assert_ne!(base, checksum(["CREATE TABLE t (\n a INT\n)", "SELECT 1"]));
/// assert_ne!(base, checksum(["CREATE TABLE t (\n  a INT\n)", "SELECT 2"]));
/// assert_ne!(base, checksum(["CREATE TABLE t (\n  a INT\n)SELECT 1"]));
/// ```
pub fn checksum<'a>(items: impl IntoIterator<Item = &'a str>) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for item in items {
        let normalised = normalise(item);
        hasher.update((normalised.len() as u64).to_le_bytes());
        hasher.update(normalised.as_bytes());
    }
    hasher.finalize().into()
}

/// The chain after `previous` (all zeros before version 1) and the next
/// version's checksum.
///
/// # Examples
///
/// ```
/// use migrate_core::checksum::{chain, checksum};
///
/// let one = checksum(["CREATE TABLE a (x)"]);
/// let two = checksum(["CREATE TABLE b (y)"]);
///
/// // The chain of versions 1..=2, as stored with version 2's row.
/// let at_two = [one, two].iter().fold([0; 32], |c, sum| chain(&c, sum));
/// assert_eq!(at_two, chain(&chain(&[0; 32], &one), &two));
///
/// // Editing version 1 changes the chain of every later version.
/// let edited = checksum(["CREATE TABLE a (x, z)"]);
/// assert_ne!(at_two, chain(&chain(&[0; 32], &edited), &two));
/// ```
pub fn chain(previous: &[u8; 32], checksum: &[u8; 32]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(previous);
    hasher.update(checksum);
    hasher.finalize().into()
}

/// Line endings as `\n`, no whitespace at the end of a line or of the text.
fn normalise(sql: &str) -> String {
    let unified = sql.replace("\r\n", "\n").replace('\r', "\n");
    let mut out = unified
        .split('\n')
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n");
    out.truncate(out.trim_end().len());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_endings_and_trailing_whitespace_do_not_matter() {
        let base = checksum(["CREATE TABLE t (\n  a INT\n)", "SELECT 1"]);
        assert_eq!(
            base,
            checksum(["CREATE TABLE t (\r\n  a INT  \r\n)\n\n", "SELECT 1 "])
        );
        assert_eq!(
            base,
            checksum(["CREATE TABLE t (\r  a INT\t\r)", "SELECT 1"])
        );
    }

    #[test]
    fn everything_else_does() {
        let base = checksum(["CREATE TABLE t (\n  a INT\n)", "SELECT 1"]);
        assert_ne!(base, checksum(["CREATE TABLE t (\n a INT\n)", "SELECT 1"]));
        assert_ne!(base, checksum(["CREATE TABLE t (\n  a INT\n)", "SELECT 2"]));
        assert_ne!(base, checksum(["CREATE TABLE t (\n  a INT\n)SELECT 1"]));
        assert_ne!(
            base,
            checksum(["CREATE TABLE t (\n  a INT\n)", "SELECT 1", ""])
        );
    }
}
