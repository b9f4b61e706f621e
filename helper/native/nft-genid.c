/*
 * nft-genid: prints the nf_tables ruleset generation of the current network namespace, and the namespace's cookie.
 *
 * The kernel bumps this number on every committed nf_tables transaction (nft, iptables-nft, firewalld, …),
 * in any table. consolegate-helper records it right after its own load: while it is unchanged the ruleset is
 * exactly what was loaded, and `status` or an up-to-date `apply` need not list 100,000 set elements (which
 * takes nft seconds) to know our table is intact. The cookie (SO_NETNS_COOKIE) names the namespace: unlike its
 * inode number it is never reused within a boot, so a generation recorded in a namespace that is gone (a
 * restarted container) never matches a new one's. Output: `<generation> <cookie>` in decimal and a newline;
 * exit 1 with a message on stderr when the kernel does not answer (no nf_tables, or no netns cookie).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef SO_NETNS_COOKIE
#define SO_NETNS_COOKIE 71 /* asm-generic; Linux 5.14 */
#endif

static int fail(const char *what) {
  fprintf(stderr, "nft-genid: %s: %s\n", what, errno ? strerror(errno) : "unexpected answer");
  return 1;
}

int main(void) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (fd < 0) return fail("socket");
  uint64_t cookie = 0;
  socklen_t len = sizeof cookie;
  if (getsockopt(fd, SOL_SOCKET, SO_NETNS_COOKIE, &cookie, &len) < 0 || len != sizeof cookie) return fail("netns cookie");

  struct {
    struct nlmsghdr nh;
    struct nfgenmsg nf;
  } req;
  memset(&req, 0, sizeof req);
  req.nh.nlmsg_len = NLMSG_LENGTH(sizeof req.nf);
  req.nh.nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETGEN;
  req.nh.nlmsg_flags = NLM_F_REQUEST;
  req.nh.nlmsg_seq = 1;
  req.nf.nfgen_family = AF_UNSPEC;
  req.nf.version = NFNETLINK_V0;
  struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
  if (sendto(fd, &req, req.nh.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) return fail("send");

  /* Aligned for the netlink headers; the answer is a few dozen bytes. */
  static uint32_t buf[2048];
  errno = 0;
  ssize_t n = recv(fd, buf, sizeof buf, 0);
  if (n < 0) return fail("recv");
  for (struct nlmsghdr *nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (size_t)n); nh = NLMSG_NEXT(nh, n)) {
    if (nh->nlmsg_type == NLMSG_ERROR) {
      const struct nlmsgerr *e = NLMSG_DATA(nh);
      errno = -e->error;
      return fail("kernel");
    }
    if (nh->nlmsg_type != ((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWGEN)) continue;
    int left = (int)NLMSG_PAYLOAD(nh, sizeof(struct nfgenmsg));
    struct nlattr *a = (struct nlattr *)((char *)NLMSG_DATA(nh) + NLMSG_ALIGN(sizeof(struct nfgenmsg)));
    while (left >= (int)sizeof *a && a->nla_len >= sizeof *a && a->nla_len <= left) {
      if ((a->nla_type & NLA_TYPE_MASK) == NFTA_GEN_ID && a->nla_len >= NLA_HDRLEN + sizeof(uint32_t)) {
        uint32_t id;
        memcpy(&id, (char *)a + NLA_HDRLEN, sizeof id);
        printf("%u %llu\n", ntohl(id), (unsigned long long)cookie);
        return fflush(stdout) == 0 ? 0 : fail("write");
      }
      left -= NLA_ALIGN(a->nla_len);
      a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len));
    }
  }
  return fail("no generation in the answer");
}
