//! SHA-256 in the two spellings irisctl and AWS use: lowercase hex (content-addressed keys,
//! manifests, stack parameters, template hashes) and standard base64 (S3's
//! `x-amz-checksum-sha256`). One place, so every caller hashes and spells it the same way.

use base64::Engine as _;
use sha2::{Digest as _, Sha256};

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: impl AsRef<[u8]>) -> String {
    hex::encode(Sha256::digest(bytes.as_ref()))
}

/// Standard base64 SHA-256 of `bytes`, as S3 takes and returns checksums.
pub fn sha256_b64(bytes: impl AsRef<[u8]>) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes.as_ref()))
}

/// The base64 spelling of a hex SHA-256 (`None` when `hex` is not hex), to compare a
/// sha256 irisctl pins with the checksum S3 reports.
pub fn hex_to_b64(hex_digest: &str) -> Option<String> {
    let bytes = hex::decode(hex_digest).ok()?;
    Some(base64::engine::general_purpose::STANDARD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_spellings_of_the_empty_input_match_the_published_digest() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            sha256_b64(b""),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
        assert_eq!(hex_to_b64(&sha256_hex(b"x")), Some(sha256_b64(b"x")));
        assert_eq!(hex_to_b64("not hex"), None);
    }
}
