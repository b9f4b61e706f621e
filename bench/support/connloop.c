/*
 * connloop: the per-connection cost of the OUTPUT rules, with as little user-space work as possible.
 *
 *   connloop ADDR PORT COUNT WARMUP
 *
 * Listens on ADDR:PORT itself (so the accept queue never fills), then COUNT times: socket, blocking connect,
 * accept, close both. The client closes with SO_LINGER 0 (a reset) so no TIME_WAIT piles up across rounds
 * and ports never run out; every packet still passes the OUTPUT hook. WARMUP connections run first, untimed.
 * Prints "ok failed ns_per_attempt": a refused connect (our rules answer with a reset) counts as failed.
 * Exits 2 on setup errors.
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

static long attempt(const struct sockaddr_in *to, int listener) {
  int c = socket(AF_INET, SOCK_STREAM, 0);
  if (c < 0) { perror("socket"); exit(2); }
  int ok = connect(c, (const struct sockaddr *)to, sizeof *to) == 0;
  if (!ok && errno != ECONNREFUSED && errno != ECONNRESET) { perror("connect"); exit(2); }
  if (ok) {
    int a = accept(listener, NULL, NULL);
    if (a < 0) { perror("accept"); exit(2); }
    close(a);
  }
  struct linger lg = { .l_onoff = 1, .l_linger = 0 };
  setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  close(c);
  return ok;
}

int main(int argc, char **argv) {
  if (argc != 5) { fprintf(stderr, "usage: connloop ADDR PORT COUNT WARMUP\n"); return 2; }
  struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[2])) };
  if (inet_pton(AF_INET, argv[1], &to.sin_addr) != 1) { fprintf(stderr, "bad address %s\n", argv[1]); return 2; }
  long count = atol(argv[3]), warmup = atol(argv[4]);

  int l = socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(l, (struct sockaddr *)&to, sizeof to) < 0 || listen(l, 128) < 0) { perror("listen"); return 2; }

  for (long i = 0; i < warmup; i++) attempt(&to, l);
  struct timespec t0, t1;
  long ok = 0;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (long i = 0; i < count; i++) ok += attempt(&to, l);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double ns = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
  printf("%ld %ld %.1f\n", ok, count - ok, ns / (double)count);
  return 0;
}
