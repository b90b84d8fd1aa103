"""The waiting room in real time: socket.io namespaces for participants and hosts.

Fan-out goes through python-socketio's client manager (in-process by default, Redis when
configured), never through this process's memory, so a participant connected to one process
hears a host's decision made on another.
"""
