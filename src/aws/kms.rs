//! KMS: whether an alias exists (DescribeKey on `alias/<name>`, NotFoundException when it
//! does not). Must not decide what a found alias means.

use aws_sdk_kms::Client;

use super::error::CallFailed;

pub async fn alias_exists(client: &Client, alias: &str) -> Result<bool, CallFailed> {
    match client.describe_key().key_id(alias).send().await {
        Ok(_) => Ok(true),
        Err(err)
            if err
                .as_service_error()
                .is_some_and(|e| e.is_not_found_exception()) =>
        {
            Ok(false)
        }
        Err(err) => Err(CallFailed::from_sdk("KMS", "DescribeKey", alias, &err)),
    }
}
