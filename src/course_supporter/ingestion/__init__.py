"""Ingestion: one processor per source format turns a material into a SourceDocument."""
