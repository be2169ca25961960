"""Views of the conversations app: chat.py (visitor chat page, demo site),
inboxes.py (admins' inbox and FAQ pages), console.py (operators' console)."""
