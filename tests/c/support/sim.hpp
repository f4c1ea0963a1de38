// The failsoft-sim simulator as a child process, and a tiny HTTP client for its control port
// (tests/simulator/README.md). Header-only; POSIX.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

extern char **environ;

namespace fs_test {

using json = nlohmann::json;

inline bool file_exists(const std::string &path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// FAILSOFT_SIM_BIN, else target/release/failsoft-sim, else target/debug/failsoft-sim.
inline std::string simulator_binary() {
  if (const char *env = std::getenv("FAILSOFT_SIM_BIN"); env && *env) return env;
  std::string root = FAILSOFT_REPO_DIR;
  for (const char *profile : {"release", "debug"}) {
    std::string candidate = root + "/target/" + profile + "/failsoft-sim";
    if (file_exists(candidate)) return candidate;
  }
  throw std::runtime_error(
      "failsoft-sim not found: set FAILSOFT_SIM_BIN or run `cargo build -p failsoft-sim`");
}

struct HttpAnswer {
  int status = 0;
  std::string body;
  json as_json() const { return body.empty() ? json() : json::parse(body); }
};

// "http://127.0.0.1:PORT" -> PORT.
inline int port_of(const std::string &url) {
  auto colon = url.rfind(':');
  if (url.rfind("http://127.0.0.1:", 0) != 0 || colon == std::string::npos)
    throw std::runtime_error("unexpected simulator url " + url);
  return std::stoi(url.substr(colon + 1));
}

// One HTTP/1.1 request with `Connection: close`, answer read to EOF.
inline HttpAnswer http_call(const std::string &base_url, const std::string &method,
                            const std::string &path, const std::string &body = "") {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port_of(base_url)));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr *>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot connect to " + base_url + ": " + std::strerror(errno));
  }
  std::string request = method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
                        "Content-Type: application/json\r\nConnection: close\r\n" +
                        "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  for (size_t sent = 0; sent < request.size();) {
    ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      ::close(fd);
      throw std::runtime_error("send to " + base_url + " failed");
    }
    sent += static_cast<size_t>(n);
  }
  std::string raw;
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    raw.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  HttpAnswer answer;
  auto head_end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.", 0) != 0 || head_end == std::string::npos)
    throw std::runtime_error("bad HTTP answer from " + base_url + path + ": " + raw);
  answer.status = std::stoi(raw.substr(9, 3));
  answer.body = raw.substr(head_end + 4);
  return answer;
}

// A failsoft-sim child: started with a fixture (or the default one), stopped on destruction.
// `--exit-on-stdin-eof` makes it die with the test process even on a crash.
class Simulator {
 public:
  explicit Simulator(const json &fixture = json()) {
    std::string binary = simulator_binary();
    std::string fixture_path;
    if (!fixture.is_null()) {
      char tmpl[] = "/tmp/failsoft-fixture-XXXXXX";
      int fd = ::mkstemp(tmpl);
      if (fd < 0) throw std::runtime_error("mkstemp failed");
      ::close(fd);
      fixture_path = tmpl;
      std::ofstream(fixture_path) << fixture.dump();
      fixture_path_ = fixture_path;
    }
    int in_pipe[2], out_pipe[2];
    if (::pipe2(in_pipe, O_CLOEXEC) != 0 || ::pipe2(out_pipe, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in_pipe[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
    std::string a0 = binary, a1 = "--exit-on-stdin-eof", a2 = "--fixture";
    char *argv_fixture[] = {a0.data(), a1.data(), a2.data(), fixture_path.data(), nullptr};
    char *argv_default[] = {a0.data(), a1.data(), nullptr};
    int rc = ::posix_spawn(&pid_, binary.c_str(), &actions, nullptr,
                           fixture_path.empty() ? argv_default : argv_fixture, environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(in_pipe[0]);
    ::close(out_pipe[1]);
    if (rc != 0) {
      ::close(in_pipe[1]);
      ::close(out_pipe[0]);
      throw std::runtime_error("cannot start " + binary + ": " + std::strerror(rc));
    }
    stdin_fd_ = in_pipe[1];
    std::string line;
    char c;
    while (::read(out_pipe[0], &c, 1) == 1 && c != '\n') line.push_back(c);
    ::close(out_pipe[0]);
    if (line.empty()) {
      stop();
      throw std::runtime_error(binary + " printed no startup line");
    }
    json info = json::parse(line);
    url_ = info.at("url").get<std::string>();
    control_ = info.at("control").get<std::string>();
  }

  Simulator(const Simulator &) = delete;
  Simulator &operator=(const Simulator &) = delete;
  ~Simulator() { stop(); }

  const std::string &url() const { return url_; }
  const std::string &control_url() const { return control_; }

  json control(const std::string &method, const std::string &path, const json &body = json()) {
    HttpAnswer a = http_call(control_, method, path, body.is_null() ? "" : body.dump());
    if (a.status >= 400)
      throw std::runtime_error(method + " " + path + " -> " + std::to_string(a.status) + " " +
                               a.body);
    return a.as_json();
  }

  void fault(const std::string &route, const std::string &mode, int delay_ms = 0) {
    json body = {{"route", route}, {"mode", mode}};
    if (delay_ms) body["delay_ms"] = delay_ms;
    control("POST", "/_sim/fault", body);
  }
  void heal(const std::string &route) { fault(route, "healthy"); }
  void set_kv(const std::string &key, const json &value, const json &version = json()) {
    json body = {{"key", key}, {"value", value}};
    if (!version.is_null()) body["version"] = version;
    control("POST", "/_sim/kv", body);
  }
  void delete_kv(const std::string &key) { control("DELETE", "/_sim/kv/" + key); }
  long count(const std::string &path) {
    json counts = control("GET", "/_sim/counts");
    auto &paths = counts.at("paths");
    return paths.contains(path) ? paths.at(path).get<long>() : 0;
  }

 private:
  void stop() {
    if (stdin_fd_ >= 0) {
      ::close(stdin_fd_);
      stdin_fd_ = -1;
    }
    if (pid_ > 0) {
      ::kill(pid_, SIGTERM);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      pid_ = -1;
    }
    if (!fixture_path_.empty()) {
      ::unlink(fixture_path_.c_str());
      fixture_path_.clear();
    }
  }

  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  std::string url_, control_, fixture_path_;
};

}  // namespace fs_test
