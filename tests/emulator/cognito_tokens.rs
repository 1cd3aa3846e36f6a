//! The authorizer's token check (`irisctl::gateway::authorizer`) against tokens a user
//! pool issued: moto's Cognito signs RS256 access and ID tokens and serves the pool's JWKS
//! at `/<pool id>/.well-known/jwks.json`. A pool-issued token with the right claims is
//! accepted; a changed signature, another pool's issuer, the wrong `token_use`, an expired
//! token and a token without the method's scope are refused. (moto's access tokens carry
//! only `aws.cognito.signin.user.admin`, so that is the scope the accepting method asks for;
//! the env's own `<resource server>/predict` scope is the one the token lacks.)

use aws_sdk_cognitoidentityprovider::types::{AuthFlowType, ExplicitAuthFlowsType};
use irisctl::aws::endpoint::{self, Service};
use irisctl::gateway::authorizer::{Rejection, Verifier, cognito_issuer};

use crate::support;

#[tokio::test]
#[ignore = "needs moto (scripts/emulator start); scripts/test runs it"]
async fn pool_issued_tokens_pass_and_bad_ones_are_refused() {
    let aws = support::emulators().await;
    let cognito = irisctl::aws::cognito(&aws.config);
    let name = support::unique_name("verifier");
    let pool = cognito
        .create_user_pool()
        .pool_name(&name)
        .send()
        .await
        .expect("CreateUserPool");
    let pool_id = pool
        .user_pool()
        .and_then(|p| p.id())
        .expect("pool id")
        .to_owned();
    let client = cognito
        .create_user_pool_client()
        .user_pool_id(&pool_id)
        .client_name("machine")
        .explicit_auth_flows(ExplicitAuthFlowsType::AllowAdminUserPasswordAuth)
        .send()
        .await
        .expect("CreateUserPoolClient");
    let client_id = client
        .user_pool_client()
        .and_then(|c| c.client_id())
        .expect("client id")
        .to_owned();
    let password = "Correct-Horse-9-Battery";
    cognito
        .admin_create_user()
        .user_pool_id(&pool_id)
        .username("svc")
        .send()
        .await
        .expect("AdminCreateUser");
    cognito
        .admin_set_user_password()
        .user_pool_id(&pool_id)
        .username("svc")
        .password(password)
        .permanent(true)
        .send()
        .await
        .expect("AdminSetUserPassword");
    let auth = cognito
        .admin_initiate_auth()
        .user_pool_id(&pool_id)
        .client_id(&client_id)
        .auth_flow(AuthFlowType::AdminUserPasswordAuth)
        .auth_parameters("USERNAME", "svc")
        .auth_parameters("PASSWORD", password)
        .send()
        .await
        .expect("AdminInitiateAuth");
    let result = auth.authentication_result().expect("tokens");
    let access = result.access_token().expect("access token").to_owned();
    let id_token = result.id_token().expect("id token").to_owned();

    // The pool's JWKS, from moto's URL for it.
    let moto =
        endpoint::resolved(&aws.config, Service::CognitoIdentityProvider).expect("moto endpoint");
    let http = irisctl::http::Http::new(std::time::Duration::from_secs(10)).expect("http client");
    let jwks = http
        .send(
            http::Method::GET,
            &format!(
                "{}/{pool_id}/.well-known/jwks.json",
                moto.trim_end_matches('/')
            ),
            &[],
            Vec::new(),
        )
        .await
        .expect("GET jwks.json");
    assert_eq!(jwks.status, 200);
    let region = aws
        .config
        .region()
        .map(|r| r.to_string())
        .unwrap_or_else(|| "us-east-1".into());
    let verifier = Verifier {
        issuer: cognito_issuer(&region, &pool_id),
        keys: serde_json::from_slice(&jwks.body).expect("a JWK set"),
        client_ids: vec![client_id.clone()],
    };
    let now = irisctl::local::issuer::unix_now();
    let moto_scope = vec!["aws.cognito.signin.user.admin".to_owned()];

    let ok = verifier
        .verify(&access, &moto_scope, now)
        .expect("a pool-issued access token passes");
    assert_eq!(ok.client_id, client_id);
    verifier
        .verify(&format!("Bearer {id_token}"), &[], now)
        .expect("an ID token passes a method without scopes");

    let tampered = irisctl::smoke::tamper(&access);
    assert!(matches!(
        verifier.verify(&tampered, &moto_scope, now),
        Err(Rejection::Signature(_))
    ));
    let other_pool = Verifier {
        issuer: cognito_issuer(&region, "us-east-1_SomeOtherPool"),
        ..verifier.clone()
    };
    assert!(matches!(
        other_pool.verify(&access, &moto_scope, now),
        Err(Rejection::Issuer(_))
    ));
    assert!(matches!(
        verifier.verify(&id_token, &moto_scope, now),
        Err(Rejection::TokenUse {
            wanted: "access",
            ..
        })
    ));
    assert!(matches!(
        verifier.verify(&access, &moto_scope, now + 2 * 3600),
        Err(Rejection::Expired { .. })
    ));
    let predict = vec!["iris-local-api/predict".to_owned()];
    assert!(matches!(
        verifier.verify(&access, &predict, now),
        Err(Rejection::Scope { .. })
    ));
    let other_client = Verifier {
        client_ids: vec!["someoneelse".into()],
        ..verifier.clone()
    };
    assert!(matches!(
        other_client.verify(&access, &moto_scope, now),
        Err(Rejection::Client(_))
    ));

    cognito
        .delete_user_pool()
        .user_pool_id(&pool_id)
        .send()
        .await
        .expect("DeleteUserPool");
}
