/*
 * Preloaded by consolegate-helper into the nft and iptables-restore processes it starts, nowhere else.
 *
 * Our rules carry uids and gids as numbers only, yet both tools call getpwnam()/getgrnam() on every one
 * before they try it as a number (nft: uid_type_parse in src/meta.c; iptables: the owner match). Each call
 * is an NSS lookup that cannot succeed: a scan of /etc/passwd, or a query to sssd or LDAP. At 100,000
 * entitlements and 10,000 accounts that was 80 s of a load that otherwise takes 1.5 s.
 *
 * Here a name made of digits only is "no such user" at once, so the tool takes the number, which is what
 * our rules mean anyway. Every other name goes to the real function.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stddef.h>

static int all_digits(const char *s)
{
	if (s == NULL || *s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

struct passwd *getpwnam(const char *name)
{
	static struct passwd *(*real)(const char *);

	if (all_digits(name)) {
		errno = 0; /* not found, not an error */
		return NULL;
	}
	if (real == NULL)
		real = (struct passwd *(*)(const char *))dlsym(RTLD_NEXT, "getpwnam");
	return real != NULL ? real(name) : NULL;
}

struct group *getgrnam(const char *name)
{
	static struct group *(*real)(const char *);

	if (all_digits(name)) {
		errno = 0;
		return NULL;
	}
	if (real == NULL)
		real = (struct group *(*)(const char *))dlsym(RTLD_NEXT, "getgrnam");
	return real != NULL ? real(name) : NULL;
}
