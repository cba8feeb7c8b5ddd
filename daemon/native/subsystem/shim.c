/*
 * decoyd subsystem shim (LD_PRELOAD): makes an ordinary server program's listening TCP sockets
 * ports of decoy hosts, as Honeyd's libhoneyd.so does.
 *
 * A bind() of a stream socket to INADDR_ANY / in6addr_any, or to one of the decoy addresses in
 * DECOYD_SUBSYSTEM_ADDRS, with a non-zero port, turns the socket into an AF_UNIX socket bound in
 * DECOYD_SUBSYSTEM_DIR. listen() then publishes it as `tcp-ADDR-PORT` (rename: decoyd sees a
 * port only once it accepts connections). decoyd connects to that socket for every connection
 * the decoy accepts on the port and first writes a 12-byte header: peer IPv4, peer port, local
 * IPv4, local port (network order). accept() reads the header and returns the peer's address;
 * getsockname()/getpeername() answer with the decoy's and the peer's addresses, so the program
 * sees the connection as if it came over IPv4. Everything else passes through.
 *
 * Not virtualised: UDP, outbound connect() (the program runs in an empty network namespace, so
 * there is nowhere to connect to), binds to other addresses (loopback stays real), port 0.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_FDS 4096
#define MAX_ADDRS 64
#define HEADER_LEN 12
#define HEADER_WAIT_MS 2000

enum { KIND_NONE = 0, KIND_LISTENER = 1, KIND_ACCEPTED = 2 };

struct vsock {
  unsigned char kind;
  unsigned char family;   /* AF_INET or AF_INET6 as the program created it */
  uint32_t local_ip;      /* network order; 0 = any */
  uint16_t local_port;    /* network order */
  uint32_t peer_ip;
  uint16_t peer_port;
  pid_t owner;            /* listener: the process that bound it (a forked child's close() keeps the port) */
  char tmp_path[108];     /* listener: where it was bound */
  char path[108];         /* listener: where listen() published it */
};

static struct vsock vs[MAX_FDS];
static uint32_t addrs[MAX_ADDRS];
static int naddrs = -1;
static const char *dir = NULL;

static int (*real_bind)(int, const struct sockaddr *, socklen_t);
static int (*real_listen)(int, int);
static int (*real_accept)(int, struct sockaddr *, socklen_t *);
static int (*real_accept4)(int, struct sockaddr *, socklen_t *, int);
static int (*real_getsockname)(int, struct sockaddr *, socklen_t *);
static int (*real_getpeername)(int, struct sockaddr *, socklen_t *);
static int (*real_close)(int);
static int (*real_setsockopt)(int, int, int, const void *, socklen_t);
static int (*real_getsockopt)(int, int, int, void *, socklen_t *);

static void init(void) {
  if (naddrs >= 0) return;
  real_bind = dlsym(RTLD_NEXT, "bind");
  real_listen = dlsym(RTLD_NEXT, "listen");
  real_accept = dlsym(RTLD_NEXT, "accept");
  real_accept4 = dlsym(RTLD_NEXT, "accept4");
  real_getsockname = dlsym(RTLD_NEXT, "getsockname");
  real_getpeername = dlsym(RTLD_NEXT, "getpeername");
  real_close = dlsym(RTLD_NEXT, "close");
  real_setsockopt = dlsym(RTLD_NEXT, "setsockopt");
  real_getsockopt = dlsym(RTLD_NEXT, "getsockopt");
  dir = getenv("DECOYD_SUBSYSTEM_DIR");
  naddrs = 0;
  const char *list = getenv("DECOYD_SUBSYSTEM_ADDRS");
  if (list == NULL) return;
  char buf[MAX_ADDRS * 16];
  snprintf(buf, sizeof buf, "%s", list);
  for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok != NULL && naddrs < MAX_ADDRS; tok = strtok_r(NULL, ",", &save)) {
    struct in_addr a;
    if (inet_pton(AF_INET, tok, &a) == 1) addrs[naddrs++] = a.s_addr;
  }
}

static struct vsock *lookup(int fd) {
  if (fd < 0 || fd >= MAX_FDS || vs[fd].kind == KIND_NONE) return NULL;
  return &vs[fd];
}

static int is_ours(uint32_t ip) {
  if (ip == 0) return 1;
  for (int i = 0; i < naddrs; i++) if (addrs[i] == ip) return 1;
  return 0;
}

/* The IPv4 address and port a bind() asks for; 0 when the address is not IPv4 (or v4-mapped / any). */
static int wanted(const struct sockaddr *a, socklen_t len, uint32_t *ip, uint16_t *port) {
  if (a == NULL) return 0;
  if (a->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)a;
    *ip = in->sin_addr.s_addr;
    *port = in->sin_port;
    return 1;
  }
  if (a->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)a;
    static const unsigned char any[16] = { 0 };
    if (memcmp(&in6->sin6_addr, any, 16) == 0) *ip = 0;
    else if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) memcpy(ip, &in6->sin6_addr.s6_addr[12], 4);
    else return 0;
    *port = in6->sin6_port;
    return 1;
  }
  return 0;
}

static socklen_t fill(int family, uint32_t ip, uint16_t port, struct sockaddr *out, socklen_t *len) {
  if (out == NULL || len == NULL) return 0;
  if (family == AF_INET6) {
    struct sockaddr_in6 in6;
    memset(&in6, 0, sizeof in6);
    in6.sin6_family = AF_INET6;
    in6.sin6_port = port;
    if (ip != 0) {
      in6.sin6_addr.s6_addr[10] = 0xff;
      in6.sin6_addr.s6_addr[11] = 0xff;
      memcpy(&in6.sin6_addr.s6_addr[12], &ip, 4);
    }
    memcpy(out, &in6, *len < sizeof in6 ? *len : sizeof in6);
    *len = sizeof in6;
  } else {
    struct sockaddr_in in;
    memset(&in, 0, sizeof in);
    in.sin_family = AF_INET;
    in.sin_port = port;
    in.sin_addr.s_addr = ip;
    memcpy(out, &in, *len < sizeof in ? *len : sizeof in);
    *len = sizeof in;
  }
  return *len;
}

int bind(int fd, const struct sockaddr *a, socklen_t len) {
  init();
  uint32_t ip;
  uint16_t port;
  int type = 0;
  socklen_t tl = sizeof type;
  if (dir == NULL || fd < 0 || fd >= MAX_FDS || !wanted(a, len, &ip, &port) || port == 0 || !is_ours(ip)
      || real_getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tl) != 0 || type != SOCK_STREAM) {
    return real_bind(fd, a, len);
  }
  char addr[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &ip, addr, sizeof addr);
  struct vsock v;
  memset(&v, 0, sizeof v);
  v.kind = KIND_LISTENER;
  v.family = (unsigned char)a->sa_family;
  v.local_ip = ip;
  v.local_port = port;
  v.owner = getpid();
  snprintf(v.path, sizeof v.path, "%s/tcp-%s-%u", dir, addr, ntohs(port));
  snprintf(v.tmp_path, sizeof v.tmp_path, "%s/.bind-%d-%d", dir, (int)getpid(), fd);
  if (access(v.path, F_OK) == 0) { errno = EADDRINUSE; return -1; }
  int flags = fcntl(fd, F_GETFL);
  int fdflags = fcntl(fd, F_GETFD);
  int u = socket(AF_UNIX, SOCK_STREAM, 0);
  if (u < 0) return -1;
  if (dup2(u, fd) < 0) { int e = errno; real_close(u); errno = e; return -1; }
  real_close(u);
  if (flags >= 0) fcntl(fd, F_SETFL, flags);
  if (fdflags >= 0) fcntl(fd, F_SETFD, fdflags);
  struct sockaddr_un sun;
  memset(&sun, 0, sizeof sun);
  sun.sun_family = AF_UNIX;
  snprintf(sun.sun_path, sizeof sun.sun_path, "%s", v.tmp_path);
  unlink(v.tmp_path);
  if (real_bind(fd, (struct sockaddr *)&sun, sizeof sun) != 0) return -1;
  vs[fd] = v;
  return 0;
}

int listen(int fd, int backlog) {
  init();
  struct vsock *v = lookup(fd);
  if (v == NULL || v->kind != KIND_LISTENER) return real_listen(fd, backlog);
  if (real_listen(fd, backlog) != 0) return -1;
  if (v->tmp_path[0] != '\0') {
    if (link(v->tmp_path, v->path) != 0) { errno = EADDRINUSE; return -1; }
    unlink(v->tmp_path);
    v->tmp_path[0] = '\0';
  }
  return 0;
}

/* Reads the connection header decoyd writes first; waits a bounded time for it. */
static int read_header(int c, unsigned char *h) {
  size_t got = 0;
  int waited = 0;
  while (got < HEADER_LEN) {
    ssize_t n = recv(c, h + got, HEADER_LEN - got, MSG_DONTWAIT);
    if (n > 0) { got += (size_t)n; continue; }
    if (n == 0) return -1;
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return -1;
    if (waited >= HEADER_WAIT_MS) return -1;
    struct pollfd p = { .fd = c, .events = POLLIN };
    poll(&p, 1, 100);
    waited += 100;
  }
  return 0;
}

static int do_accept(int fd, struct sockaddr *a, socklen_t *len, int flags, int use4) {
  init();
  struct vsock *v = lookup(fd);
  if (v == NULL || v->kind != KIND_LISTENER) return use4 ? real_accept4(fd, a, len, flags) : real_accept(fd, a, len);
  for (;;) {
    int c = use4 ? real_accept4(fd, NULL, NULL, flags) : real_accept(fd, NULL, NULL);
    if (c < 0) return -1;
    unsigned char h[HEADER_LEN];
    if (c >= MAX_FDS || read_header(c, h) != 0) {
      /* A connection without a header is not one of decoyd's: drop it and wait for the next. */
      real_close(c);
      if (fcntl(fd, F_GETFL) & O_NONBLOCK) { errno = EAGAIN; return -1; }
      continue;
    }
    struct vsock *cv = &vs[c];
    memset(cv, 0, sizeof *cv);
    cv->kind = KIND_ACCEPTED;
    cv->family = v->family;
    memcpy(&cv->peer_ip, h, 4);
    memcpy(&cv->peer_port, h + 4, 2);
    memcpy(&cv->local_ip, h + 6, 4);
    memcpy(&cv->local_port, h + 10, 2);
    fill(cv->family, cv->peer_ip, cv->peer_port, a, len);
    return c;
  }
}

int accept(int fd, struct sockaddr *a, socklen_t *len) { return do_accept(fd, a, len, 0, 0); }
int accept4(int fd, struct sockaddr *a, socklen_t *len, int flags) { return do_accept(fd, a, len, flags, 1); }

int getsockname(int fd, struct sockaddr *a, socklen_t *len) {
  init();
  struct vsock *v = lookup(fd);
  if (v == NULL) return real_getsockname(fd, a, len);
  fill(v->family, v->local_ip, v->local_port, a, len);
  return 0;
}

int getpeername(int fd, struct sockaddr *a, socklen_t *len) {
  init();
  struct vsock *v = lookup(fd);
  if (v == NULL) return real_getpeername(fd, a, len);
  if (v->kind != KIND_ACCEPTED) { errno = ENOTCONN; return -1; }
  fill(v->family, v->peer_ip, v->peer_port, a, len);
  return 0;
}

/* IP- and TCP-level options mean nothing on the Unix socket underneath: accept them silently. */
int setsockopt(int fd, int level, int name, const void *val, socklen_t len) {
  init();
  struct vsock *v = lookup(fd);
  if (v == NULL) return real_setsockopt(fd, level, name, val, len);
  if (level != SOL_SOCKET) return 0;
  int r = real_setsockopt(fd, level, name, val, len);
  return r == 0 || errno != EOPNOTSUPP ? r : 0;
}

int getsockopt(int fd, int level, int name, void *val, socklen_t *len) {
  init();
  struct vsock *v = lookup(fd);
  if (v == NULL) return real_getsockopt(fd, level, name, val, len);
  if (level == SOL_SOCKET && name == SO_DOMAIN && val != NULL && len != NULL && *len >= sizeof(int)) {
    *(int *)val = v->family;
    *len = sizeof(int);
    return 0;
  }
  if (level != SOL_SOCKET) {
    if (val != NULL && len != NULL) memset(val, 0, *len);
    return 0;
  }
  return real_getsockopt(fd, level, name, val, len);
}

int close(int fd) {
  init();
  struct vsock *v = lookup(fd);
  if (v != NULL) {
    if (v->kind == KIND_LISTENER && v->owner == getpid()) {
      if (v->tmp_path[0] != '\0') unlink(v->tmp_path);
      else unlink(v->path);
    }
    memset(v, 0, sizeof *v);
  }
  return real_close(fd);
}
