"""People: accounts hardening (sessions, CSRF, lockout), parents' grants and invites, 直通负责人 reports."""
