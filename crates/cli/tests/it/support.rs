//! Running the real `marrow` binary: one-shot commands with a bounded wait, a background server
//! that is always killed, and a minimal HTTP/1.0 client over `std::net::TcpStream`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// The binary under test.
const MARROW: &str = env!("CARGO_BIN_EXE_marrow");
/// The longest a one-shot command may run (the PostgreSQL probe alone may take 10 seconds).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest a server may take to answer `/healthz` after it was started.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(15);
/// The longest a server may take to stop after SIGTERM.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// How often to poll while waiting.
const POLL: Duration = Duration::from_millis(50);
/// Read and write timeout of one HTTP exchange.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// A fresh, empty working directory.
pub fn workdir() -> TempDir {
    tempfile::tempdir().expect("a temporary directory can be created")
}

/// `marrow` in `dir`, with none of the settings from the environment, so defaults apply, and
/// with backtraces switched on, so that a panic would show one.
pub fn marrow(dir: &Path) -> Command {
    let mut command = Command::new(MARROW);
    command
        .current_dir(dir)
        .env_remove("MARROW_DATABASE_URL")
        .env_remove("MARROW_LISTEN")
        .env_remove("MARROW_SECURE_COOKIES")
        .env_remove("MARROW_LOG")
        .env("RUST_BACKTRACE", "1");
    command
}

/// What a finished command did.
#[derive(Debug)]
pub struct Outcome {
    /// Its exit status.
    pub status: ExitStatus,
    /// Everything it wrote on standard output.
    pub stdout: String,
    /// Everything it wrote on standard error.
    pub stderr: String,
}

impl Outcome {
    /// Panics, showing both streams, unless the command succeeded.
    pub fn assert_success(&self) -> &Self {
        assert!(self.status.success(), "marrow failed: {self:#?}");
        self
    }
}

/// Runs `marrow ARGS` in `dir`, with `stdin` on standard input (or nothing), and waits at most
/// [`COMMAND_TIMEOUT`] for it.
pub fn run(dir: &Path, args: &[&str], stdin: Option<&str>) -> Outcome {
    let mut child = marrow(dir)
        .args(args)
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the marrow binary starts");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin was piped");
        // The command may refuse its arguments and exit before it reads anything.
        if let Err(e) = pipe.write_all(input.as_bytes()) {
            assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "writing stdin: {e}");
        }
        // Dropping the pipe closes it: the command sees end of input.
    }
    let stdout = read_in_background(child.stdout.take().expect("stdout was piped"));
    let stderr = read_in_background(child.stderr.take().expect("stderr was piped"));
    let deadline = Instant::now() + COMMAND_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("the child's status can be read") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("marrow {args:?} did not finish within {COMMAND_TIMEOUT:?}");
        }
        std::thread::sleep(POLL);
    };
    Outcome {
        status,
        stdout: stdout.join().expect("the stdout reader does not panic"),
        stderr: stderr.join().expect("the stderr reader does not panic"),
    }
}

fn read_in_background(mut stream: impl Read + Send + 'static) -> JoinHandle<String> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        stream.read_to_end(&mut bytes).expect("the child's output can be read");
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

/// Asserts that a command failed the way every `marrow` error must: exit status 1 and exactly
/// one line on stderr, starting with `error:` and naming the problem with each of `words`; no
/// panic and no backtrace anywhere. Returns that line.
pub fn assert_one_error_line(outcome: &Outcome, words: &[&str]) -> String {
    assert_eq!(outcome.status.code(), Some(1), "exit status 1 expected: {outcome:#?}");
    for stream in [&outcome.stdout, &outcome.stderr] {
        let lower = stream.to_lowercase();
        assert!(!lower.contains("panicked"), "a panic: {outcome:#?}");
        assert!(!lower.contains("backtrace"), "a backtrace: {outcome:#?}");
    }
    let lines: Vec<&str> = outcome.stderr.lines().collect();
    assert_eq!(lines.len(), 1, "exactly one line on stderr expected: {outcome:#?}");
    let line = lines[0];
    assert!(line.starts_with("error: "), "the line starts with `error: `: {line:?}");
    for word in words {
        assert!(line.contains(word), "the error names {word:?}: {line:?}");
    }
    line.to_owned()
}

/// The user-list line of `username`, if `marrow user list` shows one.
pub fn listed_user(dir: &Path, username: &str) -> Option<String> {
    let outcome = run(dir, &["user", "list"], None);
    outcome.assert_success();
    outcome
        .stdout
        .lines()
        .find(|line| line.split_whitespace().next() == Some(username))
        .map(str::to_owned)
}

/// A port on 127.0.0.1 that was free a moment ago.
fn free_local_addr() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free local port can be bound");
    listener.local_addr().expect("a bound listener has an address")
}

/// `marrow serve` running in the background; killed when dropped, even if the test panics.
pub struct Server {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    logs: TempDir,
}

/// What a server printed before it stopped.
#[derive(Debug)]
pub struct Stopped {
    /// Its exit status.
    pub status: ExitStatus,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error (the log).
    pub stderr: String,
}

impl Server {
    /// Starts `marrow serve --listen 127.0.0.1:PORT EXTRA` in `dir` and waits until
    /// `/healthz` answers 200. Tries another port if the free one was taken meanwhile.
    pub fn start(dir: &Path, extra: &[&str]) -> Server {
        for _attempt in 0..3 {
            let addr = free_local_addr();
            let logs = tempfile::tempdir().expect("a temporary directory for logs");
            let out = std::fs::File::create(logs.path().join("stdout")).expect("stdout file");
            let err = std::fs::File::create(logs.path().join("stderr")).expect("stderr file");
            let child = marrow(dir)
                .arg("serve")
                .args(["--listen", &addr.to_string()])
                .args(extra)
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err)
                .spawn()
                .expect("the marrow binary starts");
            let mut server = Server { child, addr, logs };
            if server.wait_until_healthy() {
                return server;
            }
            let stderr = server.stderr();
            if !stderr.contains("cannot listen") {
                panic!("marrow serve exited before it answered /healthz:\n{stderr}");
            }
        }
        panic!("marrow serve found no free port in three attempts");
    }

    /// True once `/healthz` answers 200; false if the server exited first.
    fn wait_until_healthy(&mut self) -> bool {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            if self.child.try_wait().expect("the server's status can be read").is_some() {
                return false;
            }
            if try_http(self.addr, "GET", "/healthz", &[], None).is_ok_and(|r| r.status == 200) {
                return true;
            }
            assert!(
                Instant::now() < deadline,
                "marrow serve did not answer /healthz within {STARTUP_TIMEOUT:?}:\n{}",
                self.stderr()
            );
            std::thread::sleep(POLL);
        }
    }

    fn log_path(&self, name: &str) -> PathBuf {
        self.logs.path().join(name)
    }

    /// Its standard output so far.
    pub fn stdout(&self) -> String {
        std::fs::read_to_string(self.log_path("stdout")).expect("the server's stdout file")
    }

    /// Its standard error (the log) so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.log_path("stderr")).expect("the server's stderr file")
    }

    /// An HTTP request to this server; panics if there is no answer.
    pub fn http(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        form: Option<&[(&str, &str)]>,
    ) -> Response {
        try_http(self.addr, method, path, headers, form)
            .unwrap_or_else(|e| panic!("{method} {path}: {e}\nserver log:\n{}", self.stderr()))
    }

    /// Kills the server with SIGKILL (no chance to flush or clean up) and waits for it.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL the server");
        self.child.wait().expect("reap the server");
    }

    /// Asks the server to stop with SIGTERM, as a service manager would, and waits for it.
    pub fn stop(mut self) -> Stopped {
        let pid = self.child.id().to_string();
        let sent = Command::new("sh")
            .args(["-c", "kill -TERM \"$1\"", "sh", &pid])
            .status()
            .expect("sh can run kill");
        assert!(sent.success(), "kill -TERM {pid} failed");
        let deadline = Instant::now() + STOP_TIMEOUT;
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("the server's status can be read") {
                break status;
            }
            assert!(Instant::now() < deadline, "marrow serve ignored SIGTERM for {STOP_TIMEOUT:?}");
            std::thread::sleep(POLL);
        };
        Stopped { status, stdout: self.stdout(), stderr: self.stderr() }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// An HTTP response.
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Header names (lower case) and values, in order.
    pub headers: Vec<(String, String)>,
    /// The body as text.
    pub body: String,
}

impl Response {
    /// The value of a cookie this response sets.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .iter()
            .filter(|(k, _)| k == "set-cookie")
            .filter_map(|(_, v)| v.split(';').next())
            .filter_map(|pair| pair.trim().split_once('='))
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_owned())
    }
}

/// One HTTP/1.0 exchange (the server closes the connection after answering). `form` is sent
/// URL-encoded as the body.
fn try_http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    form: Option<&[(&str, &str)]>,
) -> std::io::Result<Response> {
    let body = form.map(url_encode);
    exchange(
        addr,
        method,
        path,
        headers,
        body.as_deref().map(|b| ("application/x-www-form-urlencoded", b)),
    )
}

/// One HTTP/1.0 exchange with a JSON body.
pub fn try_json(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    json: &str,
) -> std::io::Result<Response> {
    exchange(addr, method, path, headers, Some(("application/json", json)))
}

fn exchange(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<(&str, &str)>,
) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect_timeout(&addr, HTTP_TIMEOUT)?;
    stream.set_read_timeout(Some(HTTP_TIMEOUT))?;
    stream.set_write_timeout(Some(HTTP_TIMEOUT))?;
    let mut request = format!("{method} {path} HTTP/1.0\r\nHost: {addr}\r\n");
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    if let Some((content_type, body)) = body {
        request.push_str(&format!("Content-Type: {content_type}\r\n"));
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    request.push_str(body.map_or("", |(_, b)| b));
    stream.write_all(request.as_bytes())?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let raw = String::from_utf8_lossy(&raw);
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
    let (head, body) = raw.split_once("\r\n\r\n").ok_or_else(|| bad("no end of headers"))?;
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| bad("no status line"))?;
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    Ok(Response { status, headers, body: body.to_owned() })
}

fn url_encode(pairs: &[(&str, &str)]) -> String {
    let encode = |s: &str| {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    char::from(b).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect::<String>()
    };
    pairs.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&")
}

/// The demo users `serve --demo` printed: (username, password), one per line after the banner.
pub fn demo_users(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .skip_while(|line| !line.starts_with("Demo data added"))
        .skip(1)
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            match (words.first(), words.last()) {
                (Some(user), Some(password)) if words.len() >= 3 => {
                    Some(((*user).to_owned(), (*password).to_owned()))
                }
                _ => None,
            }
        })
        .collect()
}

/// The hidden `login_csrf` value of the login form.
pub fn login_csrf(page: &str) -> String {
    let marker = r#"name="login_csrf" value=""#;
    let start = page.find(marker).expect("the login form has a login_csrf field") + marker.len();
    let len = page[start..].find('"').expect("the login_csrf value is quoted");
    page[start..start + len].to_owned()
}
