//! Fetching the model artifact from S3: the only AWS code in the function. Owns the
//! GetObject calls (pinned to an object version when one is configured) and a size bound;
//! must not verify or interpret the bytes (that is `loaded`).

use aws_config::BehaviorVersion;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::SharedHttpClient;
use aws_smithy_http_client::HttpClientError;
use aws_smithy_http_client::tls::rustls_provider::CryptoMode;
use aws_smithy_http_client::tls::{Provider, TlsContext, TrustStore};

use crate::config::{Config, ObjectRef};
use crate::loaded::{LoadedModel, VerifyError};

/// Refuse objects larger than this: the Iris model is kilobytes; a wrong key pointing at
/// something huge must not exhaust the function's memory.
pub const MAX_OBJECT_BYTES: i64 = 64 << 20;

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("s3://{bucket}/{object}: GetObject failed")]
    Get {
        bucket: String,
        object: ObjectRef,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error(
        "s3://{bucket}/{object}: object is {size} bytes, over the {MAX_OBJECT_BYTES}-byte bound"
    )]
    TooLarge {
        bucket: String,
        object: ObjectRef,
        size: i64,
    },
    #[error("s3://{bucket}/{model} with manifest {manifest}: the artifact failed verification")]
    Verify {
        bucket: String,
        model: ObjectRef,
        manifest: ObjectRef,
        #[source]
        source: VerifyError,
    },
}

/// The roots the function trusts for TLS (see the file's header for why only these).
pub const AMAZON_ROOTS_PEM: &[u8] = include_bytes!("../certs/amazon-trust-services.pem");

/// The HTTPS client: rustls (aws-lc) trusting the Amazon roots only. Setting `SSL_CERT_FILE`
/// or `SSL_CERT_DIR` on the function switches to the platform's roots (a TLS-inspecting
/// proxy, an S3-compatible store with its own CA).
fn http_client() -> Result<SharedHttpClient, HttpClientError> {
    let native = ["SSL_CERT_FILE", "SSL_CERT_DIR"]
        .iter()
        .any(|v| std::env::var_os(v).is_some());
    let trust = if native {
        TrustStore::default()
    } else {
        TrustStore::empty().with_pem_certificate(AMAZON_ROOTS_PEM)
    };
    let tls = TlsContext::builder().with_trust_store(trust).build()?;
    Ok(aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::AwsLc))
        .tls_context(tls)
        .build_https())
}

/// An S3 client from the standard AWS environment (credentials, region, and
/// `AWS_ENDPOINT_URL[_S3]` for the emulators, which need path-style addressing).
pub async fn client() -> Result<Client, HttpClientError> {
    let shared = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client()?)
        .load()
        .await;
    let custom_endpoint = std::env::var_os("AWS_ENDPOINT_URL_S3").is_some()
        || std::env::var_os("AWS_ENDPOINT_URL").is_some();
    let conf = aws_sdk_s3::config::Builder::from(&shared)
        .force_path_style(custom_endpoint)
        .build();
    Ok(Client::from_conf(conf))
}

/// Downloads model.bin and manifest.json concurrently, then verifies them.
pub async fn load(client: &Client, cfg: &Config) -> Result<LoadedModel, LoadError> {
    let (model, manifest) = tokio::try_join!(
        get(client, &cfg.bucket, &cfg.model),
        get(client, &cfg.bucket, &cfg.manifest)
    )?;
    LoadedModel::verify(
        &model.0,
        &manifest.0,
        &cfg.model_sha256,
        model.1,
        manifest.1,
    )
    .map_err(|source| LoadError::Verify {
        bucket: cfg.bucket.clone(),
        model: cfg.model.clone(),
        manifest: cfg.manifest.clone(),
        source,
    })
}

/// The object's bytes and the version id S3 actually served.
async fn get(
    client: &Client,
    bucket: &str,
    object: &ObjectRef,
) -> Result<(Vec<u8>, Option<String>), LoadError> {
    let fail = |source: Box<dyn std::error::Error + Send + Sync>| LoadError::Get {
        bucket: bucket.to_owned(),
        object: object.clone(),
        source,
    };
    let out = client
        .get_object()
        .bucket(bucket)
        .key(&object.key)
        .set_version_id(object.version_id.clone())
        .send()
        .await
        // DisplayErrorContext keeps the service's error code (NoSuchKey, AccessDenied) in the log.
        .map_err(|e| {
            fail(
                aws_sdk_s3::error::DisplayErrorContext(&e)
                    .to_string()
                    .into(),
            )
        })?;
    let size = out.content_length().unwrap_or(0);
    if size > MAX_OBJECT_BYTES {
        return Err(LoadError::TooLarge {
            bucket: bucket.to_owned(),
            object: object.clone(),
            size,
        });
    }
    // "null" is what S3 reports for objects written before versioning was enabled.
    let version = out
        .version_id()
        .filter(|v| !v.is_empty() && *v != "null")
        .map(str::to_owned);
    let bytes = out
        .body
        .collect()
        .await
        .map_err(|e| fail(Box::new(e)))?
        .into_bytes()
        .to_vec();
    Ok((bytes, version))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;

    #[test]
    fn the_trusted_roots_are_the_five_amazon_roots_and_parse() {
        let certs = CertificateDer::pem_slice_iter(AMAZON_ROOTS_PEM)
            .collect::<Result<Vec<_>, _>>()
            .expect("every certificate in the bundle parses");
        assert_eq!(certs.len(), 5);
        assert!(http_client().is_ok());
    }
}
