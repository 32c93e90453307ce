/*
 * check_priv.h - what the check module's files share (private to check)
 *
 * check.c holds the decision sequence; check_grant.c the delegation
 * searches; check_eight.c what the 8-bit rule sees.
 */
#ifndef HM_CHECK_PRIV_H
#define HM_CHECK_PRIV_H

#include "check.h"

/* check_kept_clear - forget the decision kept in *K, if any. */
void check_kept_clear(struct check_kept *k);

/*
 * check_grant - the answer to the search of RIGHT over ADDRESS: made
 * once per message, right and address; never NULL.
 */
const struct policy_grant *check_grant(struct check_msg *m, enum hm_right right,
                                       const struct addr *address);

/* check_grants_clear - forget the message's delegation searches. */
void check_grants_clear(struct check_msg *m);

/*
 * check_on_behalf_decide - at end-of-DATA: an on-behalf From: address
 * without a Sender: the login wholly owns becomes a not-owned decision.
 */
void check_on_behalf_decide(struct check_msg *m);

/* check_scan - LEN bytes at DATA of a header field (or the body: BODY). */
void check_scan(struct check_msg *m, const void *data, size_t len, bool body);

/* check_eight_decide - the 8-bit rule's decision, asked once at end-of-DATA. */
void check_eight_decide(struct check_msg *m);

#endif
