"""Load clients: locust users that upload images to a server, and the serving benchmark built on
them. Client code only; nothing here is imported by the server."""
