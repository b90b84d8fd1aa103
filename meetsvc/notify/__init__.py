"""Notifications: invitations, updates, cancellations and reminders, by e-mail and SMS.

A notice is *recorded* in the transaction that causes it (:mod:`meetsvc.notify.notices`, writing
to the outbox table through :mod:`meetsvc.notify.outbox`) and *sent* afterwards by the one
:class:`~meetsvc.notify.deliverer.Deliverer` loop of the process, through a channel
(:mod:`meetsvc.notify.channels`: SMTP, an HTTP SMS gateway, or the development outbox).

What a message may say is decided in one place, :mod:`meetsvc.notify.messages`: the time, the
inviting organisation, "SIP-möte" and the personal link. Texts come from template files IT can
change (:mod:`meetsvc.notify.templates`); calendar files from :mod:`meetsvc.notify.calendar`.
:func:`meetsvc.notify.runtime.open_notify` wires all of it for the application.
"""
