//! A real fundledger server on `127.0.0.1:0` for the API tests, and clients for it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use fundledger::api::client::{
    AdminServiceClient, CommandServiceClient, EventServiceClient, QueryServiceClient,
};
use fundledger::api::{ServeError, ServerConfig};
use fundledger::log::{Log, LogConfig};
use fundledger::projections::Ledger;
use tokio::sync::oneshot;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};

/// How long a test waits for something that should happen at once.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// A server over a log in a temporary directory.
pub struct TestServer {
    /// The address it listens on.
    pub address: SocketAddr,
    /// The log it serves; tests append to it directly.
    pub log: Arc<Log>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), ServeError>>>,
    dir: tempfile::TempDir,
}

impl TestServer {
    /// Starts a plaintext server with local trust.
    pub async fn start() -> Self {
        Self::start_with(ServerConfig::default()).await
    }

    /// Starts a server with the ledger's command and query services (local trust unless
    /// `config` says otherwise); the shipped rulebook is appended as genesis.
    pub async fn start_ledger(mut config: ServerConfig) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let log = Arc::new(Log::open(&LogConfig::new(dir.path())).unwrap());
        let (opened, path) = (Arc::clone(&log), dir.path().join("projections"));
        // Opening appends the genesis rulebook through the blocking append path.
        let ledger = tokio::task::spawn_blocking(move || Ledger::open(opened, &path))
            .await
            .unwrap()
            .unwrap();
        config.ledger = Some(Arc::new(ledger));
        Self::start_on(dir, log, config).await
    }

    /// Stops the server and starts a new one over the same data directory, the log and
    /// the books opened again from disk, as a restart of the service would.
    pub async fn restart_ledger(mut self, mut config: ServerConfig) -> Self {
        self.stop().await.unwrap();
        let TestServer { dir, log, .. } = self;
        drop(log);
        let path = dir.path().to_owned();
        let (log, ledger) = tokio::task::spawn_blocking(move || {
            let log = Arc::new(Log::open(&LogConfig::new(&path)).unwrap());
            let ledger = Ledger::open(Arc::clone(&log), &path.join("projections")).unwrap();
            (log, ledger)
        })
        .await
        .unwrap();
        config.ledger = Some(Arc::new(ledger));
        Self::start_on(dir, log, config).await
    }

    /// Starts a server with `config`.
    pub async fn start_with(config: ServerConfig) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let log = Arc::new(Log::open(&LogConfig::new(dir.path())).unwrap());
        Self::start_on(dir, log, config).await
    }

    async fn start_on(dir: tempfile::TempDir, log: Arc<Log>, config: ServerConfig) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(fundledger::api::serve_with_shutdown(
            Arc::clone(&log),
            listener,
            config,
            async {
                let _ = stopped.await;
            },
        ));
        TestServer {
            address,
            log,
            stop: Some(stop),
            task: Some(task),
            dir,
        }
    }

    /// A plaintext channel to the server.
    pub async fn channel(&self) -> Channel {
        Endpoint::from_shared(format!("http://{}", self.address))
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    /// An `EventService` client sending `token` (none if `None`).
    pub async fn events(&self, token: Option<&str>) -> EventServiceClient<Authed> {
        EventServiceClient::with_interceptor(self.channel().await, Bearer::new(token))
    }

    /// An `AdminService` client sending `token` (none if `None`).
    pub async fn admin(&self, token: Option<&str>) -> AdminServiceClient<Authed> {
        AdminServiceClient::with_interceptor(self.channel().await, Bearer::new(token))
    }

    /// A `CommandService` client sending `token` (none if `None`).
    pub async fn commands(&self, token: Option<&str>) -> CommandServiceClient<Authed> {
        CommandServiceClient::with_interceptor(self.channel().await, Bearer::new(token))
    }

    /// A `QueryService` client sending `token` (none if `None`).
    pub async fn queries(&self, token: Option<&str>) -> QueryServiceClient<Authed> {
        QueryServiceClient::with_interceptor(self.channel().await, Bearer::new(token))
    }

    /// Triggers the shutdown and waits for the server to finish.
    pub async fn stop(&mut self) -> Result<(), ServeError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let task = self.task.take().expect("the server runs");
        tokio::time::timeout(PATIENCE, task)
            .await
            .expect("the server stops in time")
            .unwrap()
    }
}

/// A channel that adds a bearer token.
pub type Authed = InterceptedService<Channel, Bearer>;

/// Adds `authorization: Bearer <token>` to each request, if a token is set.
#[derive(Clone)]
pub struct Bearer(Option<String>);

impl Bearer {
    /// For `token`.
    pub fn new(token: Option<&str>) -> Self {
        Bearer(token.map(str::to_owned))
    }
}

impl tonic::service::Interceptor for Bearer {
    fn call(
        &mut self,
        mut request: tonic::Request<()>,
    ) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(token) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", format!("Bearer {token}").parse().unwrap());
        }
        Ok(request)
    }
}

/// The argon2id PHC string of a token, as the access config stores it.
pub fn token_hash(token: &str) -> String {
    fundledger::api::access::hash_token(token).unwrap()
}
