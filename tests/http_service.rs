//! The `http_service` example end to end: the built program serving a store on 127.0.0.1,
//! driven by a real HTTP client, beside `tokenctl` runs on the same store.
//!
//! `cargo test` builds both examples along with the tests.

mod common;
#[path = "common/shell.rs"]
mod shell;

use std::io::{BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use api_tokens::{DEFAULT_REFRESH_INTERVAL, Lifetime, ManualClock, NewToken};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, HOST, WWW_AUTHENTICATE};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::Value;
use shell::{Shell, example_binary, id_of};
use time::OffsetDateTime;

/// One answer of the service.
#[derive(Debug, PartialEq)]
struct Reply {
    status: StatusCode,
    challenge: Option<String>,
    cache_control: Option<String>,
    body: Value,
}

/// A store with an admin token made by `tokenctl`, and the service running over it.
struct Service {
    shell: Shell,
    child: Child,
    address: SocketAddr,
    admin: String,
}

impl Service {
    fn start() -> Self {
        let shell = Shell::new();
        let admin = shell.create(&["--name", "admin", "--scope", "admin"]);

        let mut child = Command::new(example_binary("http_service"))
            .current_dir(shell.dir.path())
            .env_remove("API_TOKENS_KEY")
            .args(["--store", "tokens.store", "--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the service starts");
        let mut first_line = String::new();
        let stdout = child.stdout.take().expect("stdout is piped");
        BufReader::new(stdout)
            .read_line(&mut first_line)
            .expect("the service writes to stdout");
        let Some(address) = first_line.trim_end().strip_prefix("listening on ") else {
            let _ = child.kill();
            let mut stderr = String::new();
            let _ = child
                .stderr
                .take()
                .map(|mut e| e.read_to_string(&mut stderr));
            panic!("the service did not start: {first_line:?} {stderr}");
        };
        let address: SocketAddr = address.parse().expect("an address");
        assert!(address.ip().is_loopback());

        Self {
            shell,
            child,
            address,
            admin,
        }
    }

    /// Sends one request on a new connection; each of `authorization` becomes an
    /// `Authorization` header.
    async fn call(
        &self,
        method: Method,
        path: &str,
        authorization: &[&str],
        body: Option<&str>,
    ) -> Reply {
        let stream = tokio::net::TcpStream::connect(self.address)
            .await
            .expect("the service accepts connections");
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .expect("an HTTP/1 connection");
        tokio::spawn(connection);

        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, self.address.to_string());
        for value in authorization {
            request = request.header(AUTHORIZATION, *value);
        }
        if body.is_some() {
            request = request.header(CONTENT_TYPE, "application/json");
        }
        let body = Full::new(Bytes::from(body.unwrap_or_default().to_owned()));
        let response = sender
            .send_request(request.body(body).expect("a valid request"))
            .await
            .expect("an answer");

        let header = |name| {
            response
                .headers()
                .get(name)
                .map(|value: &hyper::header::HeaderValue| value.to_str().unwrap().to_owned())
        };
        let status = response.status();
        let challenge = header(WWW_AUTHENTICATE);
        let cache_control = header(CACHE_CONTROL);
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("the whole body")
            .to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("a JSON body")
        };
        Reply {
            status,
            challenge,
            cache_control,
            body,
        }
    }

    async fn get(&self, path: &str, token: &str) -> Reply {
        self.call(Method::GET, path, &[&format!("Bearer {token}")], None)
            .await
    }

    /// Stops the service and returns what it wrote on stderr.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let mut stderr = String::new();
        if let Some(mut pipe) = self.child.stderr.take() {
            pipe.read_to_string(&mut stderr).unwrap();
        }
        stderr
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn secret_of(token: &str) -> &str {
    &token["acme_".len() + 17.."acme_".len() + 60]
}

const INVALID_TOKEN: &str = r#"Bearer error="invalid_token""#;
const NEEDS_ADMIN: &str = r#"Bearer error="insufficient_scope", scope="admin""#;

#[tokio::test]
async fn a_token_made_through_the_api_works_until_it_is_deleted() {
    let service = Service::start();
    let admin = format!("Bearer {}", service.admin);

    let created = service
        .call(
            Method::POST,
            "/tokens",
            &[&admin],
            Some(r#"{"name": "deploy bot", "expires": "7d", "scopes": ["repo:read"]}"#),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    assert_eq!(created.cache_control.as_deref(), Some("no-store"));
    let token = created.body["token"].as_str().unwrap().to_owned();
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(id_of(&token), id);
    assert!(created.body["expires_at"].is_string());

    let me = service.get("/whoami", &token).await;
    assert_eq!(me.status, StatusCode::OK, "{me:?}");
    assert_eq!(me.body["id"], id.as_str());
    assert_eq!(me.body["name"], "deploy bot");
    assert_eq!(me.body["scopes"], serde_json::json!(["repo:read"]));

    let listed = service.get("/tokens", &service.admin).await;
    assert_eq!(listed.status, StatusCode::OK);
    let names: Vec<&str> = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"deploy bot") && names.contains(&"admin"));
    let listing = listed.body.to_string();
    assert!(!listing.contains(secret_of(&token)) && !listing.contains(secret_of(&service.admin)));

    let path = format!("/tokens/{id}");
    let deleted = service.call(Method::DELETE, &path, &[&admin], None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{deleted:?}");

    let refused = service.get("/whoami", &token).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused.challenge.as_deref(), Some(INVALID_TOKEN));
    let again = service.call(Method::DELETE, &path, &[&admin], None).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    let listed = service.get("/tokens", &service.admin).await;
    assert_eq!(listed.body.as_array().unwrap().len(), 1);

    let log = service.stop();
    assert!(log.contains(&id), "the service logs ids: {log}");
    assert!(
        !log.contains(secret_of(&token)),
        "a secret leaked into the log: {log}"
    );
}

#[tokio::test]
async fn requests_without_a_valid_token_are_challenged_as_rfc_6750_says() {
    let service = Service::start();

    let none = service.call(Method::GET, "/whoami", &[], None).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        none.challenge.as_deref(),
        Some("Bearer"),
        "no error code without credentials"
    );

    let admin = format!("Bearer {}", service.admin);
    let unknown_id = common::with_checksum(&format!(
        "acme_{}{}",
        "A".repeat(17),
        secret_of(&service.admin)
    ));
    let wrong_secret =
        common::with_checksum(&format!("acme_{}{}", id_of(&service.admin), "b".repeat(43)));
    let mut answers = Vec::new();
    for headers in [
        vec!["Basic YWxpY2U6c2VjcmV0".to_owned()],
        vec!["Bearer".to_owned()],
        vec!["Bearer not-a-token".to_owned()],
        vec![format!("Token {}", service.admin)],
        vec![format!("Bearer\t{}", service.admin)],
        vec![admin.clone(), admin.clone()],
        vec![format!("Bearer {unknown_id}")],
        vec![format!("Bearer {wrong_secret}")],
    ] {
        let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
        let reply = service.call(Method::GET, "/whoami", &headers, None).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{headers:?}");
        assert_eq!(
            reply.challenge.as_deref(),
            Some(INVALID_TOKEN),
            "{headers:?}"
        );
        answers.push(reply);
    }
    // An unknown id and a wrong secret get the very same answer.
    assert_eq!(answers[6], answers[7]);

    // Made an hour and a half ago, for an hour: genuine, and expired.
    let clock = ManualClock::new(OffsetDateTime::now_utc() - time::Duration::minutes(90));
    let expired = service
        .shell
        .manager(clock)
        .create(NewToken::new(
            "old",
            Lifetime::For(time::Duration::hours(1)),
        ))
        .unwrap();
    let reply = service.get("/whoami", created_text(&expired)).await;
    assert_eq!(reply.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        reply.challenge.as_deref(),
        Some(r#"Bearer error="invalid_token", error_description="the token expired""#)
    );
}

fn created_text(created: &api_tokens::CreatedToken) -> &str {
    created.token().expose_secret()
}

#[tokio::test]
async fn a_token_without_the_admin_scope_cannot_manage_tokens() {
    let service = Service::start();
    let reader = service
        .shell
        .create(&["--name", "reader", "--scope", "repo:read"]);
    let bearer = format!("Bearer {reader}");

    let me = service.get("/whoami", &reader).await;
    assert_eq!(me.status, StatusCode::OK);

    let path = format!("/tokens/{}", id_of(&service.admin));
    for (method, path, body) in [
        (Method::GET, "/tokens", None),
        (
            Method::POST,
            "/tokens",
            Some(r#"{"name": "escalated", "scopes": ["admin"]}"#),
        ),
        (Method::DELETE, path.as_str(), None),
    ] {
        let reply = service.call(method.clone(), path, &[&bearer], body).await;
        assert_eq!(reply.status, StatusCode::FORBIDDEN, "{method} {path}");
        assert_eq!(reply.challenge.as_deref(), Some(NEEDS_ADMIN));
        assert_eq!(reply.body["error"], "insufficient_scope");
    }
    let listed = service.get("/tokens", &service.admin).await;
    assert_eq!(
        listed.body.as_array().unwrap().len(),
        2,
        "nothing was created or deleted"
    );
    assert_eq!(
        service.get("/whoami", &service.admin).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn bad_requests_are_refused_and_change_nothing() {
    let service = Service::start();
    let admin = format!("Bearer {}", service.admin);

    for body in [
        r#"{"name": ""}"#,
        r#"{"name": "x", "expires": "yesterday"}"#,
        r#"{"name": "x", "expires": "2020-01-01"}"#,
        r#"{"name": "x", "scopes": ["no spaces allowed"]}"#,
        r#"{"name": "x", "secret": "mine"}"#,
        r#"{"name": "#,
    ] {
        let reply = service
            .call(Method::POST, "/tokens", &[&admin], Some(body))
            .await;
        assert!(reply.status.is_client_error(), "{body}: {reply:?}");
        assert_eq!(reply.body["error"], "invalid_request", "{body}");
    }
    let not_an_id = service
        .call(Method::DELETE, "/tokens/nope", &[&admin], None)
        .await;
    assert_eq!(not_an_id.status, StatusCode::NOT_FOUND);

    let listed = service.get("/tokens", &service.admin).await;
    assert_eq!(listed.body.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_token_deleted_by_tokenctl_is_refused_within_the_refresh_interval() {
    let service = Service::start();
    let worker = service.shell.create(&["--name", "worker"]);
    assert_eq!(service.get("/whoami", &worker).await.status, StatusCode::OK);

    let deleted = service.shell.run(&["delete", id_of(&worker), "--yes"]);
    assert_eq!(deleted.code, 0, "{deleted:?}");
    let acknowledged = Instant::now();
    loop {
        let sent = Instant::now();
        let reply = service.get("/whoami", &worker).await;
        if reply.status == StatusCode::UNAUTHORIZED {
            assert_eq!(reply.challenge.as_deref(), Some(INVALID_TOKEN));
            break;
        }
        assert_eq!(reply.status, StatusCode::OK);
        assert!(
            sent.duration_since(acknowledged) < DEFAULT_REFRESH_INTERVAL,
            "still accepted {:?} after tokenctl deleted it",
            sent.duration_since(acknowledged)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// On SIGTERM the service finishes, and writes the last-use times it noted in memory.
#[cfg(unix)]
#[tokio::test]
async fn the_service_stops_cleanly_and_keeps_last_use_times() {
    let mut service = Service::start();
    assert_eq!(
        service.get("/whoami", &service.admin).await.status,
        StatusCode::OK
    );
    let last_used = |service: &Service| {
        let shown = service
            .shell
            .run(&["show", id_of(&service.admin), "--json"]);
        let shown: Value = serde_json::from_str(&shown.stdout).unwrap();
        shown["last_used_at"].clone()
    };
    assert_eq!(
        last_used(&service),
        Value::Null,
        "noted in memory only, so far"
    );

    let signalled = Command::new("kill")
        .args(["-TERM", &service.child.id().to_string()])
        .status()
        .unwrap();
    assert!(signalled.success());
    let status = service.child.wait().unwrap();

    assert!(status.success(), "{status:?}");
    assert!(last_used(&service).is_string());
}

#[test]
fn the_service_will_not_start_without_a_store_and_its_key() {
    let shell = Shell::new();
    let start = || {
        let mut command = Command::new(example_binary("http_service"));
        command
            .current_dir(shell.dir.path())
            .env_remove("API_TOKENS_KEY")
            .args(["--listen", "127.0.0.1:0"]);
        let output = command.output().expect("the service runs");
        (
            output.status.code(),
            String::from_utf8(output.stderr).unwrap(),
        )
    };

    let (code, stderr) = start();
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("no token store at tokens.store"),
        "{stderr}"
    );

    shell.create(&["--name", "admin", "--scope", "admin"]);
    std::fs::remove_file(shell.key_file()).unwrap();
    let (code, stderr) = start();
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("no hashing key"), "{stderr}");
}
