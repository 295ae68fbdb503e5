"""What the operator does and looks at: steering a dialog, the views, the exports."""
