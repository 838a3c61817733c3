"""The payment terminal behind a neutral port: results, errors, the adapters' registry."""
