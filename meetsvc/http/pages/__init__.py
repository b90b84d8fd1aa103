"""The pages people use: invitation, identification, staff sign-in.

Server-rendered (Jinja2, autoescaped) with a little plain JavaScript from /static; Swedish first,
English selectable. Every page carries a strict Content-Security-Policy.
"""
