"""The daemon: wiring, lifecycle and the stages that turn bars into orders."""
