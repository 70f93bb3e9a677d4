//! Every route with every role: no token, a Secretariat token, an authority token, a monitor
//! token, and an expired and a revoked token. A route's access (api/openapi.yaml
//! `x-kpcert-access`, `http::ROUTES`) decides: `open` and `public` routes answer anyone; the
//! others answer 401 without a valid token and 403 with a token of another role.

use serde_json::{json, Value};

use crate::helpers::{example_request, spawn_app_on};

async fn call(
    app: &crate::helpers::TestApp,
    method: &str,
    path: &str,
    token: Option<&str>,
) -> (u16, Value) {
    let concrete = path
        .replace("{number}", "BW-2026-000001")
        .replace("{seal}", "NOTASEAL")
        .replace("{prefix}", "kpat_none");
    let mut req = match method {
        "get" => app.client.get(app.url(&concrete)),
        "post" => app.client.post(app.url(&concrete)),
        "delete" => app.client.delete(app.url(&concrete)),
        other => panic!("{other}"),
    };
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if method == "post" {
        req = req.json(&json!({}));
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn every_route_answers_every_role_as_its_access_says() {
    let (app, clock) = spawn_app_on("2026-06-01");
    let expiring = app
        .app
        .mint_token(kpcert::tokens::Role::Secretariat, "short-lived", 1)
        .unwrap();
    let revoked = app
        .app
        .mint_token(kpcert::tokens::Role::Monitor, "revoked team", 30)
        .unwrap();
    app.app.tokens().revoke(&revoked[..13]).unwrap();
    clock.advance_days(2);
    let roles = [
        ("secretariat", Some(app.secretariat.as_str())),
        ("authority", Some(app.bw.1.as_str())),
        ("monitor", Some(app.monitor.as_str())),
    ];
    for (method, path, access) in kpcert::http::ROUTES {
        for (role, token) in roles {
            let (status, body) = call(&app, method, path, token).await;
            let allowed = match *access {
                "open" | "public" => true,
                // Any token may ask; whether it is a party to the certificate is judged on the
                // record (tested in privacy.rs).
                "party" => true,
                // Any valid token: the KP's own readers.
                "kp" => true,
                "oversight" => role == "secretariat" || role == "monitor",
                other => other == role,
            };
            if allowed {
                assert!(
                    status != 401 && status != 403,
                    "{method} {path} as {role}: {status} {body}"
                );
            } else {
                assert_eq!(status, 403, "{method} {path} as {role}: {body}");
            }
        }
        let (status, body) = call(&app, method, path, None).await;
        if matches!(*access, "open" | "public") {
            assert!(
                status != 401 && status != 403,
                "{method} {path}: {status} {body}"
            );
        } else {
            assert_eq!(status, 401, "{method} {path} without a token: {body}");
            for (what, token) in [("expired", &expiring), ("revoked", &revoked)] {
                let (status, body) = call(&app, method, path, Some(token)).await;
                assert_eq!(status, 401, "{method} {path} with a {what} token: {body}");
            }
        }
    }
}

#[tokio::test]
async fn the_secretariat_administers_while_the_service_runs() {
    let (app, _clock) = spawn_app_on("2026-06-01");
    let admin = |method: &'static str, path: &'static str, body: Value| {
        let req = match method {
            "get" => app.client.get(app.url(path)),
            "post" => app.client.post(app.url(path)).json(&body),
            _ => unreachable!(),
        };
        req.bearer_auth(&app.secretariat).send()
    };
    // Register an authority with a generated key; its token issues at once.
    let resp = admin(
        "post",
        "/v1/admin/authorities",
        json!({"participant": "NA", "name": "Ministry of Mines, Namibia"}),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 201);
    let new: Value = resp.json().await.unwrap();
    assert_eq!(new["authority"]["authority_id"], "NA-A1");
    assert_eq!(new["authority"]["key_held_here"], true);
    let na_token = new["token"].as_str().unwrap().to_owned();
    let mut body = example_request();
    body["origin"] = json!({"countries": ["NA"]});
    let resp = app.issue_with(&na_token, &body).await;
    assert_eq!(resp.status(), 201);

    // Register an authority that keeps its own key: the service holds nothing to sign with.
    let own = kpcert::crypto::SigningKey::from_seed(&[77; 32]);
    let resp = admin(
        "post",
        "/v1/admin/authorities",
        json!({"participant": "ZA", "name": "South African Diamond Regulator",
               "public_key": kpcert::codec::text::hex(&own.public_key().to_bytes())}),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 201);
    let za: Value = resp.json().await.unwrap();
    assert_eq!(za["authority"]["key_held_here"], false);
    assert_eq!(
        za["authority"]["keys"][0]["key_id"],
        own.public_key().key_id().to_string()
    );
    // The same key twice, and a weak key, are refused with the reason.
    let resp = admin(
        "post",
        "/v1/admin/authorities",
        json!({"participant": "ZA", "name": "Again",
               "public_key": kpcert::codec::text::hex(&own.public_key().to_bytes())}),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 422);
    let mut weak = [0u8; 32];
    weak[0] = 1;
    let resp = admin(
        "post",
        "/v1/admin/authorities",
        json!({"participant": "ZA", "name": "Weak", "public_key": kpcert::codec::text::hex(&weak)}),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 422);
    let list: Value = admin("get", "/v1/admin/authorities", Value::Null)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 5);

    // Tokens: mint a monitor token, list it, revoke it; it stops working at once.
    let resp = admin(
        "post",
        "/v1/admin/tokens",
        json!({"role": "monitor", "owner": "CAR monitoring team", "days": 30}),
    )
    .await
    .unwrap();
    assert_eq!(resp.status(), 201);
    let minted: Value = resp.json().await.unwrap();
    let prefix = minted["prefix"].as_str().unwrap().to_owned();
    assert!(minted["token"].as_str().unwrap().starts_with(&prefix));
    let tokens: Value = admin("get", "/v1/admin/tokens", Value::Null)
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(tokens
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["prefix"] == prefix.as_str() && t["role"] == "monitor"));
    assert!(!tokens
        .to_string()
        .contains(minted["token"].as_str().unwrap()));
    let resp = app
        .client
        .delete(app.url(&format!("/v1/admin/tokens/{}", &na_token[..13])))
        .bearer_auth(&app.secretariat)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = app.issue_with(&na_token, &body).await;
    assert_eq!(resp.status(), 401, "revoked at once");
    // A leaked token is revoked by giving it whole; a part of a prefix names nothing (it
    // would name every token) and says what to give.
    let monitor = minted["token"].as_str().unwrap();
    let reads = |token: &str| {
        app.client
            .get(app.url("/v1/admin/tokens"))
            .bearer_auth(token.to_owned())
            .send()
    };
    let revoke = |given: &str| {
        app.client
            .delete(app.url(&format!("/v1/admin/tokens/{given}")))
            .bearer_auth(&app.secretariat)
            .send()
    };
    assert_eq!(reads(&app.secretariat).await.unwrap().status(), 200);
    for part in ["kpat_", &monitor[..12]] {
        let resp = revoke(part).await.unwrap();
        assert_eq!(resp.status(), 404, "{part}");
        let v: Value = resp.json().await.unwrap();
        assert!(
            v["message"].as_str().unwrap().contains("whole token"),
            "{v}"
        );
    }
    assert_eq!(revoke(monitor).await.unwrap().status(), 200);
    let after: Value = reads(&app.secretariat).await.unwrap().json().await.unwrap();
    assert!(
        !after.to_string().contains(&monitor[..13]),
        "the whole token revoked it: {after}"
    );
    // The last Secretariat token is not revoked over HTTP (it would lock every administrator
    // out until an offline mint); with a second one it is.
    let resp = revoke(&app.secretariat).await.unwrap();
    assert_eq!(resp.status(), 409);
    let v: Value = resp.json().await.unwrap();
    assert!(v["message"].as_str().unwrap().contains("last"), "{v}");
    assert_eq!(reads(&app.secretariat).await.unwrap().status(), 200);
    let second: Value = app
        .client
        .post(app.url("/v1/admin/tokens"))
        .bearer_auth(&app.secretariat)
        .json(&json!({"role": "secretariat", "owner": "Deputy"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let second = second["token"].as_str().unwrap().to_owned();
    assert_eq!(revoke(&second).await.unwrap().status(), 200);
    assert_eq!(reads(&second).await.unwrap().status(), 401);
    // Bad requests say why and write nothing.
    let size = app.ledger_size();
    for (path, body) in [
        ("/v1/admin/tokens", json!({"role": "king", "owner": "x"})),
        (
            "/v1/admin/tokens",
            json!({"role": "monitor", "owner": "tab\there"}),
        ),
        ("/v1/admin/tokens", json!({"role": "monitor", "owner": ""})),
        (
            "/v1/admin/tokens",
            json!({"role": "authority", "owner": "KE-A1"}),
        ),
        (
            "/v1/admin/authorities",
            json!({"participant": "KE", "name": "Kenya"}),
        ),
        (
            "/v1/admin/authorities",
            json!({"participant": "BW", "name": "x", "extra": 1}),
        ),
    ] {
        let resp = app
            .client
            .post(app.url(path))
            .bearer_auth(&app.secretariat)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 422, "{path} {body}");
    }
    assert_eq!(app.ledger_size(), size);
}
