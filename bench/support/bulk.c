/*
 * bulk: what the OUTPUT rules cost an established stream, and how fast a revocation cuts one.
 *
 *   bulk ADDR PORT BYTES up|down      one transfer of BYTES through ADDR:PORT; prints "bytes ns cpu_ns"
 *   bulk ADDR PORT 0 up               streams until the connection breaks; prints "reset <CLOCK_REALTIME ns>"
 *
 * Listens on ADDR:PORT itself and forks the other end. "up": this process connects and sends (every data
 * packet goes to the protected port); "down": it connects and receives, the forked end sends (only our ACKs
 * go to the protected port, as with a console's display stream). The connecting socket is the one the rules
 * judge, so run it as the uid/gid under test. cpu_ns is the CPU time of both ends (user + system, which on
 * loopback includes the softirq work of sending and receiving, the rules included): on a machine shared with
 * other work it is a steadier measure than wall time. Exits 2 on setup errors.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (256 * 1024)
static char buf[CHUNK];

static long long now_ns(clockid_t clock) {
  struct timespec t;
  clock_gettime(clock, &t);
  return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void die(const char *what) { perror(what); exit(2); }

static long long cpu_ns(int who) {
  struct rusage u;
  getrusage(who, &u);
  return ((long long)u.ru_utime.tv_sec + u.ru_stime.tv_sec) * 1000000000LL + ((long long)u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1000LL;
}

/* Sends `bytes` (0: until an error) and returns what was sent. */
static long long pump(int fd, long long bytes) {
  long long sent = 0;
  while (bytes == 0 || sent < bytes) {
    size_t n = bytes == 0 || bytes - sent > CHUNK ? CHUNK : (size_t)(bytes - sent);
    ssize_t w = write(fd, buf, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return -sent - 1;
    }
    sent += w;
  }
  return sent;
}

static long long drain(int fd) {
  long long got = 0;
  for (;;) {
    ssize_t r = read(fd, buf, CHUNK);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return got;
    got += r;
  }
}

int main(int argc, char **argv) {
  if (argc != 5) { fprintf(stderr, "usage: bulk ADDR PORT BYTES up|down\n"); return 2; }
  long long bytes = atoll(argv[3]);
  int up = strcmp(argv[4], "up") == 0;
  signal(SIGPIPE, SIG_IGN);
  memset(buf, 7, sizeof buf);
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[2])) };
  if (inet_pton(AF_INET, argv[1], &a.sin_addr) != 1) die("inet_pton");
  int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  if (l < 0) die("socket");
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(l, (struct sockaddr *)&a, sizeof a) != 0 || listen(l, 4) != 0) die("bind/listen");
  pid_t child = fork();
  if (child < 0) die("fork");
  if (child == 0) {
    int s = accept(l, NULL, NULL);
    if (s < 0) die("accept");
    if (up) drain(s);
    else pump(s, bytes);
    _exit(0);
  }
  close(l);
  int c = socket(AF_INET, SOCK_STREAM, 0);
  if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof a) != 0) die("connect");
  long long t0 = now_ns(CLOCK_MONOTONIC), cpu0 = cpu_ns(RUSAGE_SELF), moved;
  if (bytes == 0) {
    pump(c, 0);
    printf("reset %lld\n", now_ns(CLOCK_REALTIME));
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    return 0;
  }
  if (up) {
    moved = pump(c, bytes);
    shutdown(c, SHUT_WR);
    waitpid(child, NULL, 0); /* the far end has read everything */
  } else {
    moved = drain(c);
    waitpid(child, NULL, 0);
  }
  long long ns = now_ns(CLOCK_MONOTONIC) - t0;
  long long cpu = cpu_ns(RUSAGE_SELF) - cpu0 + cpu_ns(RUSAGE_CHILDREN);
  close(c);
  if (moved != bytes) { fprintf(stderr, "bulk: moved %lld of %lld bytes\n", moved, bytes); return 1; }
  printf("%lld %lld %lld\n", moved, ns, cpu);
  return 0;
}
