"""HTTP: blueprints, the one error shape, protection, the API's schemas."""
