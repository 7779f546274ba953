"""Background workers started with the app (beside the projection runner)."""
