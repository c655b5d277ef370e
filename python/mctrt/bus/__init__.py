"""Perception and the scene connected by a bus: the message (messages.py: CameraStep and its wire
form), the central's ordering of camera steps by capture time (ordering.py), and Redis Streams
(redis_streams.py; imported by --role worker and central only, so redis stays optional)."""
