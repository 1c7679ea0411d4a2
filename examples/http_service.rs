//! `http_service`: a small HTTP API over a token store, built on `axum` and `tokio`, to
//! show how the crate fits an async web service.
//!
//! ```text
//! cargo run --example http_service -- [--store PATH] [--key-file PATH] [--listen ADDR]
//! ```
//!
//! The store and its hashing key are found as `tokenctl` finds them (`./tokens.store`, then
//! `--key-file`, `API_TOKENS_KEY` or the `.key` file beside the store), and the service
//! listens on 127.0.0.1:8080 unless told otherwise. It prints `listening on ADDR` once it
//! accepts connections. Make the first admin token with `tokenctl` against the same store:
//!
//! ```text
//! tokenctl --prefix acme create --name "admin" --scope admin
//! ```
//!
//! Every request carries `Authorization: Bearer <token>` (RFC 6750):
//!
//! | request | scope | answer |
//! |---|---|---|
//! | `GET /whoami` | any | the token's id, name, owner, scopes and expiry |
//! | `POST /tokens` | `admin` | 201 and the new token, shown this once |
//! | `GET /tokens` | `admin` | every token, newest first, as `tokenctl list --json` |
//! | `DELETE /tokens/{id}` | `admin` | 204, or 404 for an unknown id |
//!
//! `POST /tokens` takes `{"name": …, "expires": …, "scopes": […], "owner": …}`, where
//! only `name` is required and `expires` is read as `tokenctl` reads it (`30d`, `never`,
//! `2027-01-31`, `2027-01-31T12:00:00Z`; `30d` when left out).
//!
//! Refusals follow RFC 6750:
//! - no `Authorization` header: 401 with `WWW-Authenticate: Bearer` and no error code, as
//!   section 3.1 asks of a request that carries no credentials;
//! - any other header that does not hold a valid token (another scheme, a malformed,
//!   unknown, deleted or wrong token): 401 with `Bearer error="invalid_token"`, always
//!   the same, so a caller cannot tell an unknown id from a wrong secret;
//! - an expired token: the same, with `error_description="the token expired"`, which the
//!   crate reports only once the secret has matched, so only the token's holder sees it;
//! - a token without the scope: 403 with `Bearer error="insufficient_scope", scope="admin"`.

mod support;

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use api_tokens::{
    FileStore, ManageError, NewToken, StoreError, TokenId, TokenInfo, TokenManager, VerifiedToken,
    VerifyError, bearer_token,
};
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequestParts, Path, State};
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use clap::Parser;
use serde::{Deserialize, Serialize};
use support::{DEFAULT_STORE, KEY_VARIABLE, KeyError, KeyLookup, TokenJson, instant_text};

/// The scope that the token endpoints require.
const ADMIN_SCOPE: &str = "admin";

/// How often last-use times noted by verifies are written to the store.
const FLUSH_INTERVAL: Duration = Duration::from_secs(30);

/// Serve an HTTP API for the API tokens in a file store.
#[derive(Parser, Debug)]
#[command(name = "http_service")]
struct Args {
    /// The token store file, made beforehand with tokenctl.
    #[arg(long, value_name = "PATH", default_value = DEFAULT_STORE)]
    store: PathBuf,

    /// A file holding the hashing key in base64 [default: $API_TOKENS_KEY, else the store's
    /// path with the extension .key]
    #[arg(long, value_name = "PATH")]
    key_file: Option<PathBuf>,

    /// The address and port to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
}

/// What every handler shares: one manager over the store.
#[derive(Clone)]
struct AppState {
    tokens: Arc<TokenManager<FileStore>>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let tokens = match open(&args) {
        Ok(tokens) => Arc::new(tokens),
        Err(message) => {
            eprintln!("http_service: {message}");
            return ExitCode::from(2);
        }
    };

    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("http_service: cannot listen on {}: {error}", args.listen);
            return ExitCode::from(2);
        }
    };
    match listener.local_addr() {
        Ok(address) => println!("listening on {address}"),
        Err(error) => eprintln!("http_service: listening, at an unknown address: {error}"),
    }

    let app = router(AppState {
        tokens: Arc::clone(&tokens),
    });
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_requested())
        .await;

    // Last-use times are written every FLUSH_INTERVAL; write the latest ones before going.
    let flushed = tokens.store().flush();
    if let Err(error) = served {
        eprintln!("http_service: the server failed: {error}");
        return ExitCode::FAILURE;
    }
    if let Err(error) = flushed {
        eprintln!("http_service: cannot write the last-use times: {error}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// Opens the store and finds its key as `tokenctl` does; only `tokenctl` creates either.
fn open(args: &Args) -> Result<TokenManager<FileStore>, String> {
    let store = FileStore::options()
        .create(false)
        .flush_interval(FLUSH_INTERVAL)
        .open(&args.store)
        .map_err(|error| match error {
            StoreError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound => {
                let path = args.store.display();
                format!("no token store at {path}; create one with tokenctl --prefix P create")
            }
            other => error_line(&other),
        })?;
    let prefix = store.prefix().map(ToString::to_string).ok_or_else(|| {
        let path = args.store.display();
        format!("the store {path} records no token prefix; create it with tokenctl --prefix")
    })?;

    let key = match support::find_key(args.key_file.as_deref(), &args.store) {
        Ok(KeyLookup::Found(key)) => key,
        Ok(KeyLookup::Missing { path, named: true }) => {
            return Err(format!("no key file at {}", path.display()));
        }
        Ok(KeyLookup::Missing { path, named: false }) => {
            return Err(format!(
                "no hashing key: give --key-file or set {KEY_VARIABLE} (no key file at {})",
                path.display()
            ));
        }
        Err(KeyError::Invalid(message) | KeyError::Unreadable(message)) => return Err(message),
    };
    TokenManager::builder(store, key, &prefix)
        .build()
        .map_err(|error| error.to_string())
}

/// The service's routes.
fn router(state: AppState) -> Router {
    Router::new()
        .route("/whoami", get(whoami))
        .route("/tokens", get(list_tokens).post(create_token))
        .route("/tokens/{id}", delete(delete_token))
        .with_state(state)
}

/// Resolves on Ctrl-C or, on Unix, on SIGTERM.
async fn shutdown_requested() {
    let interrupt = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut terminate) => {
                let _ = terminate.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {}
        () = terminate => {}
    }
}

/// The caller's token, verified.
struct Caller(VerifiedToken);

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let mut headers = parts.headers.get_all(AUTHORIZATION).iter();
        let (Some(header), None) = (headers.next(), headers.next()) else {
            return Err(if parts.headers.contains_key(AUTHORIZATION) {
                ApiError::InvalidToken
            } else {
                ApiError::NoCredentials
            });
        };
        let presented = header
            .to_str()
            .ok()
            .and_then(|value| bearer_token(value).ok())
            .ok_or(ApiError::InvalidToken)?;

        // Verified right here on the async task, not on a blocking thread, because a
        // verify does no I/O worth a thread hop: it reads records from memory. Only once
        // per refresh interval, and for an unknown id, does the store read its file's
        // header and whatever other processes appended (small reads, usually from the page
        // cache, never a wait for a disk sync). Last-use times are only noted in memory
        // here, and with a single hashing key a verify never re-hashes a record, which
        // would write.
        match state.tokens.verify(presented) {
            Ok(verified) => Ok(Self(verified)),
            Err(VerifyError::Expired) => Err(ApiError::Expired),
            Err(VerifyError::Store(error)) => Err(ApiError::Internal(error_line(&error))),
            Err(_) => Err(ApiError::InvalidToken),
        }
    }
}

/// The caller's token, verified and holding the admin scope.
struct Admin(VerifiedToken);

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let Caller(verified) = Caller::from_request_parts(parts, state).await?;
        verified
            .require_scope(ADMIN_SCOPE)
            .map_err(|_| ApiError::InsufficientScope(ADMIN_SCOPE))?;
        Ok(Self(verified))
    }
}

/// What `GET /whoami` answers.
#[derive(Serialize)]
struct Whoami<'a> {
    id: &'a str,
    name: &'a str,
    owner: Option<&'a str>,
    scopes: &'a [String],
    expires_at: Option<String>,
}

async fn whoami(Caller(token): Caller) -> Response {
    Json(Whoami {
        id: token.id().as_str(),
        name: token.name(),
        owner: token.owner(),
        scopes: token.scopes(),
        expires_at: token.expires().instant().map(instant_text),
    })
    .into_response()
}

/// The body of `POST /tokens`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateRequest {
    name: String,
    #[serde(default = "default_expiry")]
    expires: String,
    #[serde(default)]
    scopes: Vec<String>,
    owner: Option<String>,
}

fn default_expiry() -> String {
    "30d".to_owned()
}

/// What `POST /tokens` answers: the token, this once, and what was stored.
#[derive(Serialize)]
struct Created<'a> {
    token: &'a str,
    #[serde(flatten)]
    info: TokenJson<'a>,
}

async fn create_token(
    State(state): State<AppState>,
    Admin(admin): Admin,
    body: Result<Json<CreateRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) =
        body.map_err(|rejection| ApiError::BadBody(rejection.status(), rejection.body_text()))?;
    let lifetime = support::parse_expiry(&body.expires).map_err(ApiError::BadRequest)?;
    let mut request = NewToken::new(body.name, lifetime).scopes(body.scopes);
    if let Some(owner) = body.owner {
        request = request.owner(owner);
    }

    // Creating writes the store's file and waits for it to reach the disk: on a blocking
    // thread, so the async workers go on serving other requests meanwhile.
    let tokens = Arc::clone(&state.tokens);
    let created = tokio::task::spawn_blocking(move || tokens.create(request))
        .await
        .map_err(|error| ApiError::Internal(error.to_string()))?
        .map_err(ApiError::from)?;

    let info = created.info();
    eprintln!("token {} created by token {}", info.id, admin.id());
    let body = Created {
        token: created.token().expose_secret(),
        info: TokenJson::from(info),
    };
    // The answer holds a secret: no cache may keep it.
    let no_store = [(CACHE_CONTROL, HeaderValue::from_static("no-store"))];
    Ok((StatusCode::CREATED, no_store, Json(body)).into_response())
}

async fn list_tokens(State(state): State<AppState>, Admin(_): Admin) -> Result<Response, ApiError> {
    // A listing first reads what other processes wrote to the file: a blocking thread too.
    let tokens = Arc::clone(&state.tokens);
    let listed: Vec<TokenInfo> = tokio::task::spawn_blocking(move || tokens.list(None))
        .await
        .map_err(|error| ApiError::Internal(error.to_string()))?
        .map_err(ApiError::from)?;
    let rows: Vec<TokenJson<'_>> = listed.iter().map(TokenJson::from).collect();
    Ok(Json(rows).into_response())
}

async fn delete_token(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    // No token can have an id that does not parse.
    let id: TokenId = id.parse().map_err(|_| ApiError::NotFound)?;

    // Deleting writes the file and waits for the disk, as creating does.
    let tokens = Arc::clone(&state.tokens);
    tokio::task::spawn_blocking(move || tokens.delete(&id))
        .await
        .map_err(|error| ApiError::Internal(error.to_string()))?
        .map_err(ApiError::from)?;
    eprintln!("token {id} deleted by token {}", admin.id());
    Ok(StatusCode::NO_CONTENT)
}

/// Why a request was refused.
#[derive(Debug)]
enum ApiError {
    /// No `Authorization` header.
    NoCredentials,
    /// A header that holds no valid token, whatever the reason.
    InvalidToken,
    /// A genuine token, past its expiry.
    Expired,
    /// A valid token without the scope named.
    InsufficientScope(&'static str),
    /// A request body that is not the JSON expected, with the status that says why.
    BadBody(StatusCode, String),
    /// A value in the request that cannot be used.
    BadRequest(String),
    /// No token has the id in the path.
    NotFound,
    /// The store failed; the detail is logged, not sent.
    Internal(String),
}

impl From<ManageError> for ApiError {
    fn from(error: ManageError) -> Self {
        match error {
            ManageError::Invalid(invalid) => Self::BadRequest(invalid.to_string()),
            ManageError::NotFound(_) => Self::NotFound,
            other => Self::Internal(error_line(&other)),
        }
    }
}

/// The JSON body of a refusal.
#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: &'a str,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, challenge, error, message) = match &self {
            Self::NoCredentials => (
                StatusCode::UNAUTHORIZED,
                Some("Bearer".to_owned()),
                "missing_token",
                "send a token in an Authorization: Bearer header",
            ),
            Self::InvalidToken => (
                StatusCode::UNAUTHORIZED,
                Some(r#"Bearer error="invalid_token""#.to_owned()),
                "invalid_token",
                "the token is not valid",
            ),
            Self::Expired => (
                StatusCode::UNAUTHORIZED,
                Some(
                    r#"Bearer error="invalid_token", error_description="the token expired""#
                        .to_owned(),
                ),
                "invalid_token",
                "the token expired",
            ),
            Self::InsufficientScope(scope) => (
                StatusCode::FORBIDDEN,
                Some(format!(
                    r#"Bearer error="insufficient_scope", scope="{scope}""#
                )),
                "insufficient_scope",
                "the token lacks the scope this needs",
            ),
            Self::BadBody(status, message) => (*status, None, "invalid_request", message.as_str()),
            Self::BadRequest(message) => (
                StatusCode::BAD_REQUEST,
                None,
                "invalid_request",
                message.as_str(),
            ),
            Self::NotFound => (
                StatusCode::NOT_FOUND,
                None,
                "not_found",
                "no token with this id",
            ),
            Self::Internal(detail) => {
                eprintln!("http_service: {detail}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    None,
                    "internal",
                    "the token store failed",
                )
            }
        };

        let mut response = (status, Json(ErrorBody { error, message })).into_response();
        if let Some(value) = challenge.and_then(|text| HeaderValue::try_from(text).ok()) {
            response.headers_mut().insert(WWW_AUTHENTICATE, value);
        }
        response
    }
}

/// An error and its sources on one line, for the log.
fn error_line(error: &dyn std::error::Error) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        line.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    line.replace('\n', " ")
}
