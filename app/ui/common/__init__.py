"""What every feature view of the app uses: the error dialog and the model cache."""
