"""Following a player through a clip, offline on the CPU, and turning the path into spotlight
(and optionally crop) keyframes applied as one gesture (``core.tracking.run``); finding players
on Modal GPUs (``core.tracking.modal_detect``). No Qt. Import the submodules directly: the Modal
container imports ``modal_detect`` without the desktop's dependencies."""
