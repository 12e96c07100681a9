//! A real HTTPS server on loopback (Python's http.server behind its ssl module) serving
//! MTA-STS policies per Host header: the policy host of each test domain gets its own
//! status, content type and body.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use serde_json::json;

/// What the server answers for one host.
pub struct Answer {
    pub host: &'static str,
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    /// A `Location` header (for redirects).
    pub location: Option<&'static str>,
}

impl Answer {
    pub fn policy(host: &'static str, body: &str) -> Answer {
        Answer {
            host,
            status: 200,
            content_type: "text/plain",
            body: body.to_owned(),
            location: None,
        }
    }
}

const SERVER: &str = r#"
import http.server, json, ssl, sys
routes = json.load(open(sys.argv[1]))
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        host = (self.headers.get("Host") or "").split(":")[0].lower()
        r = routes.get(host) if self.path == "/.well-known/mta-sts.txt" else None
        if r is None:
            r = {"status": 404, "type": "text/plain", "body": "not found", "location": None}
        body = r["body"].encode()
        self.send_response(r["status"])
        self.send_header("Content-Type", r["type"])
        self.send_header("Content-Length", str(len(body)))
        if r["location"]:
            self.send_header("Location", r["location"])
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(sys.argv[2], sys.argv[3])
server.socket = context.wrap_socket(server.socket, server_side=True)
print(server.server_address[1], flush=True)
server.serve_forever()
"#;

pub struct HttpsServer {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl HttpsServer {
    /// Starts the server with a certificate chain and key covering every host.
    pub fn start(answers: &[Answer], cert: &Path, key: &Path) -> HttpsServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let routes: serde_json::Map<String, serde_json::Value> = answers
            .iter()
            .map(|a| {
                (
                    a.host.to_owned(),
                    json!({"status": a.status, "type": a.content_type, "body": a.body, "location": a.location}),
                )
            })
            .collect();
        let routes_path = dir.path().join("routes.json");
        std::fs::write(&routes_path, serde_json::Value::Object(routes).to_string()).unwrap();
        let script = dir.path().join("server.py");
        std::fs::write(&script, SERVER).unwrap();
        let mut child = Command::new("/usr/bin/python3")
            .arg(&script)
            .arg(&routes_path)
            .arg(cert)
            .arg(key)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start python3 https server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("read the port");
        let port = line
            .trim()
            .parse()
            .expect("the https server printed its port");
        HttpsServer {
            child,
            port,
            _dir: dir,
        }
    }
}

impl Drop for HttpsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
