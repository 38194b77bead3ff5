"""Every enumeration of the domain, as ``str, Enum`` so values are stable in JSON and SQL."""
from __future__ import annotations

from enum import Enum
from fractions import Fraction


class AspectRatio(str, Enum):
    PORTRAIT = "9:16"
    LANDSCAPE = "16:9"
    SQUARE = "1:1"
    FOUR_FIVE = "4:5"

    @property
    def ratio(self) -> Fraction:
        """Width / height as an exact fraction."""
        w, h = self.value.split(":")
        return Fraction(int(w), int(h))


class GestureKind(str, Enum):
    # media and raw clips
    IMPORT_MEDIA = "import_media"
    CREATE_GAME = "create_game"
    MARK_CLIP = "mark_clip"
    UPDATE_CLIP = "update_clip"
    DELETE_CLIP = "delete_clip"
    # projects
    CREATE_PROJECT = "create_project"
    RENAME_PROJECT = "rename_project"
    SET_ASPECT_RATIO = "set_aspect_ratio"
    DELETE_PROJECT = "delete_project"
    ADD_CLIP = "add_clip"
    REMOVE_CLIP = "remove_clip"
    MOVE_CLIP = "move_clip"
    SET_TRANSITION = "set_transition"
    # framing (target: a working clip)
    ADD_CROP_KEYFRAME = "add_crop_keyframe"
    MOVE_CROP_KEYFRAME = "move_crop_keyframe"
    UPDATE_CROP_KEYFRAME = "update_crop_keyframe"
    DELETE_CROP_KEYFRAME = "delete_crop_keyframe"
    SPLIT = "split"
    REMOVE_SPLIT = "remove_split"
    SET_SEGMENT_SPEED = "set_segment_speed"
    SET_TRIM = "set_trim"
    CLEAR_TRIM = "clear_trim"
    SET_ROTATION = "set_rotation"
    RESTORE_VERSION = "restore_version"
    USE_NEW_RANGE = "use_new_range"
    # spotlight (target: a working clip)
    ADD_REGION = "add_region"
    UPDATE_REGION = "update_region"
    DELETE_REGION = "delete_region"
    TOGGLE_REGION = "toggle_region"
    ADD_REGION_KEYFRAME = "add_region_keyframe"
    UPDATE_REGION_KEYFRAME = "update_region_keyframe"
    DELETE_REGION_KEYFRAME = "delete_region_keyframe"
    SET_OVERLAY_STYLE = "set_overlay_style"
    APPLY_TRACK = "apply_track"  # a tracking run: a region with its keyframes (+ crop keyframes), one step
    # text overlays (target: a working clip): regions in clip time holding text elements
    ADD_TEXT_REGION = "add_text_region"
    UPDATE_TEXT_REGION = "update_text_region"
    DELETE_TEXT_REGION = "delete_text_region"
    ADD_TEXT_ELEMENT = "add_text_element"
    UPDATE_TEXT_ELEMENT = "update_text_element"
    DELETE_TEXT_ELEMENT = "delete_text_element"
    # title card (target: a project): a still with text before the first clip
    SET_TITLE_CARD = "set_title_card"
    CLEAR_TITLE_CARD = "clear_title_card"
    # undo / redo: restores the sub-objects a gesture changed (payload holds the old values)
    REVERT = "revert"
    # marks a conflict dealt with ("keep theirs", or after "restore mine"), on every device
    RESOLVE_CONFLICT = "resolve_conflict"


class TransitionType(str, Enum):
    CUT = "cut"
    FADE = "fade"          # fade through black
    DISSOLVE = "dissolve"  # cross-dissolve


class OverlayShape(str, Enum):
    BODY = "body"      # ellipse ring around the player
    GROUND = "ground"  # flattened ellipse at the player's feet


class TextFont(str, Enum):
    """The bundled typefaces (resources/fonts); glyphs a face lacks come from the CJK face."""

    CONDENSED = "condensed"  # DejaVu Sans Condensed Bold: the display face
    SANS = "sans"            # DejaVu Sans Bold
    SERIF = "serif"          # DejaVu Serif Bold
    CJK = "cjk"              # Droid Sans Fallback: Chinese, Japanese, Korean


class TextAlign(str, Enum):
    LEFT = "left"
    CENTER = "center"
    RIGHT = "right"


class TextAnchor(str, Enum):
    """Where a text block sits in the output: the point of the block that is placed, and (without
    free x/y) where in the frame it goes."""

    TOP_LEFT = "top-left"
    TOP_CENTER = "top-center"
    TOP_RIGHT = "top-right"
    MIDDLE_LEFT = "middle-left"
    MIDDLE_CENTER = "middle-center"
    MIDDLE_RIGHT = "middle-right"
    BOTTOM_LEFT = "bottom-left"
    BOTTOM_CENTER = "bottom-center"
    BOTTOM_RIGHT = "bottom-right"

    @property
    def fractions(self) -> tuple[float, float]:
        """The anchor point as (x, y) fractions of the block (and of the frame)."""
        row, col = self.value.split("-")
        return ({"left": 0.0, "center": 0.5, "right": 1.0}[col], {"top": 0.0, "middle": 0.5, "bottom": 1.0}[row])


class TitleBackground(str, Enum):
    COLOR = "color"  # a plain colour
    FRAME = "frame"  # a frame of one of the reel's clips, blurred and dimmed


class JobState(str, Enum):
    QUEUED = "queued"
    PREPARING = "preparing"
    RENDERING = "rendering"
    FINISHING = "finishing"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


class ExportBackend(str, Enum):
    LOCAL = "local"
    MODAL = "modal"


class Upscaler(str, Enum):
    NONE = "none"
    LANCZOS = "lanczos"
    REALESRGAN = "realesrgan"


class VideoEncoder(str, Enum):
    """H.264 encoder of a local export: ``auto`` takes a working hardware encoder, else x264."""

    AUTO = "auto"
    X264 = "x264"
    NVENC = "nvenc"  # NVIDIA
    QSV = "qsv"  # Intel Quick Sync
    AMF = "amf"  # AMD


class AudioCodec(str, Enum):
    """Sound of a render: AAC for a finished file; PCM for Modal chunks, so the joined reel's
    sound is encoded to AAC once."""

    AAC = "aac"
    PCM = "pcm_s16le"
