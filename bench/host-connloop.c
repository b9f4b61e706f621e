/*
 * host-connloop: connections across a namespace boundary, for the host-mode benchmark (bench/host.ts).
 *
 *   host-connloop serve ADDR PORT                 accept and close, forever (run in the hypervisor)
 *   host-connloop connect SRC ADDR PORT COUNT WARMUP   COUNT timed connects from SRC (run in a guest/client)
 *
 * The client closes with SO_LINGER 0 (a reset), so no TIME_WAIT piles up and every connect costs the same
 * packets: SYN, SYN-ACK, ACK, RST — each crossing the bridge port and the hypervisor's input hook.
 * Prints "ok failed ns_per_attempt". Exits 2 on setup errors.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in addr(const char *ip, const char *port) {
  struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(port)) };
  if (inet_pton(AF_INET, ip, &a.sin_addr) != 1) { fprintf(stderr, "bad address %s\n", ip); exit(2); }
  return a;
}

static int serve(const char *ip, const char *port) {
  struct sockaddr_in a = addr(ip, port);
  int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(l, (struct sockaddr *)&a, sizeof a) < 0 || listen(l, 1024) < 0) { perror("listen"); return 2; }
  printf("ready\n");
  fflush(stdout);
  for (;;) {
    int c = accept(l, NULL, NULL);
    if (c >= 0) close(c);
  }
}

static long attempt(const struct sockaddr_in *src, const struct sockaddr_in *to) {
  int c = socket(AF_INET, SOCK_STREAM, 0);
  if (c < 0) { perror("socket"); exit(2); }
  int one = 1;
  setsockopt(c, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(c, (const struct sockaddr *)src, sizeof *src) < 0) { perror("bind"); exit(2); }
  int ok = connect(c, (const struct sockaddr *)to, sizeof *to) == 0;
  if (!ok && errno != ECONNREFUSED && errno != ECONNRESET) { perror("connect"); exit(2); }
  struct linger lg = { .l_onoff = 1, .l_linger = 0 };
  setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  close(c);
  return ok;
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "serve") == 0) return serve(argv[2], argv[3]);
  if (argc != 7 || strcmp(argv[1], "connect") != 0) {
    fprintf(stderr, "usage: host-connloop serve ADDR PORT | connect SRC ADDR PORT COUNT WARMUP\n");
    return 2;
  }
  struct sockaddr_in src = addr(argv[2], "0"), to = addr(argv[3], argv[4]);
  long count = atol(argv[5]), warmup = atol(argv[6]), ok = 0;
  for (long i = 0; i < warmup; i++) attempt(&src, &to);
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (long i = 0; i < count; i++) ok += attempt(&src, &to);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double ns = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
  printf("%ld %ld %.1f\n", ok, count - ok, ns / (double)count);
  return 0;
}
