"""Kubernetes operator shell: kopf handlers over the shared reconcile (status, events, metrics).

Turns ImageAutomation objects into ``Settings``, runs ``imagebot.reconcile`` and writes the result
back as status, events and Prometheus metrics; it also serves registry webhooks. It decides no
tags and edits no files itself: that is the reconcile's work, the same as ``imagebot run``'s.
"""
