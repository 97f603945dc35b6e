//! Headless Chromium (Debian's `chromium`, installed by scripts/setup.sh) driven over the
//! DevTools protocol: open a page, evaluate JavaScript in it while it stays open, take a
//! screenshot. Started as the machine's sandbox requires (root, --no-sandbox) and with every
//! background connection off, in a fresh profile; killed on drop (Debian's `chromium` script
//! execs the browser, so the child is the browser, and its helpers exit with it).
use base64::Engine;
use serde_json::{json, Value};
use soketto::connection::{Receiver, Sender};
use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio_util::compat::{Compat, TokioAsyncReadCompatExt};

type Socket = Compat<tokio::net::TcpStream>;

/// The browser process, killed when dropped, also when `open` fails half-way.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub struct Browser {
    _child: Process,
    _profile: tempfile::TempDir,
    tx: Sender<Socket>,
    rx: Receiver<Socket>,
    next_id: u64,
}

/// The browser binary: `$CHROMIUM` or Debian's `chromium`.
fn binary() -> String {
    std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".into())
}

/// A plain HTTP/1.1 GET on loopback (DevTools' target list; it refuses HTTP/1.0), read up to
/// its Content-Length.
fn http_get(port: u16, path: &str) -> std::io::Result<String> {
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port))?;
    conn.set_read_timeout(Some(Duration::from_secs(5)))?;
    conn.write_all(format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").as_bytes())?;
    let mut data = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = conn.read(&mut chunk)?;
        data.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&data);
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let len = head
                .lines()
                .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().to_string()))
                .and_then(|v| v.parse::<usize>().ok());
            if n == 0 || len.is_some_and(|len| body.len() >= len) {
                return Ok(body.to_string());
            }
        } else if n == 0 {
            return Ok(String::new());
        }
    }
}

impl Browser {
    /// Starts Chromium on `url` (window 1440×1000), attaches to its page and waits until it
    /// has loaded.
    pub async fn open(url: &str) -> Browser {
        let profile = tempfile::tempdir().unwrap();
        let child = Process(
            Command::new(binary())
                .args([
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                    "--hide-scrollbars",
                    "--window-size=1440,1000",
                    "--remote-debugging-port=0",
                ])
                .arg(format!("--user-data-dir={}", profile.path().display()))
                .arg(url)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| {
                    panic!("cannot start {} (scripts/setup.sh installs Debian's chromium): {e}", binary())
                }),
        );
        let port = devtools_port(profile.path());
        let ws_path = page_target(port, url);
        let sock = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        let host = format!("127.0.0.1:{port}");
        let mut hs = soketto::handshake::Client::new(sock.compat(), &host, &ws_path);
        match hs.handshake().await.unwrap() {
            soketto::handshake::ServerResponse::Accepted { .. } => {}
            other => panic!("DevTools refused the WebSocket: {other:?}"),
        }
        let mut builder = hs.into_builder();
        // Screenshots come back as one large base64 message.
        builder.set_max_message_size(64 << 20);
        builder.set_max_frame_size(64 << 20);
        let (tx, rx) = builder.finish();
        let mut b = Browser { _child: child, _profile: profile, tx, rx, next_id: 0 };
        // The target is listed before its document has loaded.
        let deadline = Instant::now() + Duration::from_secs(30);
        while b.eval("document.readyState === 'complete' && location.href").await != json!(url) {
            assert!(Instant::now() < deadline, "{url} did not load in 30 s");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        b
    }

    /// Sends one DevTools command and returns its `result` (events in between are skipped).
    pub async fn command(&mut self, method: &str, params: Value) -> Value {
        self.next_id += 1;
        let id = self.next_id;
        self.tx.send_text(json!({"id": id, "method": method, "params": params}).to_string()).await.unwrap();
        self.tx.flush().await.unwrap();
        let mut buf = Vec::new();
        loop {
            buf.clear();
            tokio::time::timeout(Duration::from_secs(30), self.rx.receive_data(&mut buf))
                .await
                .unwrap_or_else(|_| panic!("no DevTools answer to {method}"))
                .unwrap();
            let msg: Value = serde_json::from_slice(&buf).unwrap();
            if msg["id"] == json!(id) {
                assert!(msg.get("error").is_none(), "{method} failed: {msg}");
                return msg["result"].clone();
            }
        }
    }

    /// The value of a JavaScript expression in the page (promises awaited).
    pub async fn eval(&mut self, expr: &str) -> Value {
        let r = self
            .command("Runtime.evaluate", json!({"expression": expr, "returnByValue": true, "awaitPromise": true}))
            .await;
        assert!(r.get("exceptionDetails").is_none(), "page threw: {r}");
        r["result"]["value"].clone()
    }

    /// Writes a PNG of the page as it is now.
    pub async fn screenshot(&mut self, path: &Path) {
        let r = self.command("Page.captureScreenshot", json!({"format": "png"})).await;
        let png = base64::engine::general_purpose::STANDARD.decode(r["data"].as_str().unwrap()).unwrap();
        std::fs::write(path, png).unwrap();
    }
}

/// Chromium writes its DevTools port on the first line of `DevToolsActivePort` in the profile.
fn devtools_port(profile: &Path) -> u16 {
    let file = profile.join("DevToolsActivePort");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(port) = std::fs::read_to_string(&file).ok().and_then(|t| t.lines().next()?.parse().ok()) {
            return port;
        }
        assert!(Instant::now() < deadline, "chromium wrote no {} in 30 s", file.display());
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The DevTools WebSocket path of the page showing `url`.
fn page_target(port: u16, url: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let list: Value =
            http_get(port, "/json/list").ok().and_then(|b| serde_json::from_str(&b).ok()).unwrap_or_default();
        let found = list.as_array().into_iter().flatten().find(|t| t["type"] == "page" && t["url"] == url);
        if let Some(ws) = found.and_then(|t| t["webSocketDebuggerUrl"].as_str()) {
            // ws://HOST/devtools/page/ID, HOST as our request named it.
            let at = ws.find("/devtools/").unwrap_or_else(|| panic!("odd DevTools URL {ws}"));
            return ws[at..].to_string();
        }
        assert!(Instant::now() < deadline, "no page for {url} in the DevTools list: {list}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
