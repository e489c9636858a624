"""Typed DLMS/COSEM payloads: classes and names, declarative schemas, every use case both ways."""
