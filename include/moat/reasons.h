/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Verdicts and reasons, one list each. The BPF program, moatctl and the
 * metrics exporter all expand these, so a name can only be spelled here.
 * Includes nothing: usable after vmlinux.h and in user space alike.
 */
#ifndef MOAT_REASONS_H
#define MOAT_REASONS_H

/* X(ENUM_SUFFIX, "label") in SPEC §5 order */
#define MOAT_REASONS(X)                 \
	X(TLS, "tls")                   \
	X(SSH, "ssh")                   \
	X(REPLY, "reply")               \
	X(ICMP, "icmp")                 \
	X(NDP, "ndp")                   \
	X(ARP, "arp")                   \
	X(ETHERTYPE, "ethertype")       \
	X(PORT, "port")                 \
	X(SSH_SOURCE, "ssh_source")     \
	X(NOT_TLS, "not_tls")           \
	X(NOT_SSH, "not_ssh")           \
	X(TLS_VERSION, "tls_version")   \
	X(DENIED, "denied")             \
	X(BANNED, "banned")             \
	X(FRAGMENT, "fragment")         \
	X(MALFORMED, "malformed")

#define MOAT_VERDICTS(X)                \
	X(PASS, "pass")                 \
	X(DROP, "drop")                 \
	X(MONITOR_DROP, "monitor_drop")

#define MOAT_X_ENUM_REASON(e, s) MOAT_R_##e,
enum moat_reason { MOAT_REASONS(MOAT_X_ENUM_REASON) MOAT_NR_REASONS };
#undef MOAT_X_ENUM_REASON

#define MOAT_X_ENUM_VERDICT(e, s) MOAT_V_##e,
enum moat_verdict { MOAT_VERDICTS(MOAT_X_ENUM_VERDICT) MOAT_NR_VERDICTS };
#undef MOAT_X_ENUM_VERDICT

#endif /* MOAT_REASONS_H */
