"""meetsvc: confidential SIP meetings at a distance.

Schedules the meeting and invites everyone, verifies each participant with eID, holds them in a
digital waiting room until a host lets them in, and hands each admitted person to the video
backend the city chose.
"""

__version__ = "0.1.0"
