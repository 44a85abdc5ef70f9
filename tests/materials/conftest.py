from tests.s3_server import s3_server, s3_server_with_auth

__all__ = ["s3_server", "s3_server_with_auth"]
