"""Notifications: tell webhooks about commits and changes of state.

``notice`` builds what to say from a cycle's result (pure); ``post`` delivers one notice to one
receiver over HTTP, signed for ``generic-hmac`` as Flux's notification-controller signs, retried
briefly; ``dispatch`` runs deliveries on worker threads so that no receiver holds back a cycle.
Which receivers exist is the settings' business (``Settings.notifications``), and when to notify
is the shells': the CLI on exit codes, the operator on its conditions.
"""

from __future__ import annotations

from imagebot.notify.notice import Notice, commit_notice, state_notice

__all__ = ["Notice", "commit_notice", "state_notice"]
