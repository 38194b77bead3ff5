; ReelDesk installer (NSIS 3, Unicode). Built by `python installer/build --nsis` (Windows) or
; `python installer/build --windows-dist DIR` (any OS with makensis); by hand:
;   makensis -DVERSION=0.1.0 -DPAYLOAD=C:\path\to\dist\ReelDesk -DOUTFILE=ReelDesk-Setup-0.1.0.exe installer\reeldesk.nsi
;
; Per-user install, no admin rights: %LOCALAPPDATA%\Programs\ReelDesk, HKCU registry entries only.
; Start-menu shortcut always, desktop shortcut optional. No file associations: ReelDesk opens
; videos by drag and drop and owns no file type. The uninstaller keeps the user's library unless
; they tick "Also remove my library" (or pass /REMOVELIBRARY to a silent /S uninstall).

Unicode true
ManifestDPIAware true
SetCompressor /SOLID lzma

!ifndef VERSION
  !error "Pass the version from pyproject.toml: makensis -DVERSION=x.y.z (installer/build does)"
!endif
!ifndef VIVERSION
  !define VIVERSION "${VERSION}.0" ; Windows wants four numbers: 0.1.0 -> 0.1.0.0
!endif
!ifndef PAYLOAD
  !define PAYLOAD "..\dist\ReelDesk" ; the PyInstaller one-folder build, relative to this script
!endif
!ifndef OUTFILE
  !define OUTFILE "..\dist\ReelDesk-Setup-${VERSION}.exe"
!endif

!define APP "ReelDesk"
!define PUBLISHER "ReelDesk"
!define APP_EXE "ReelDesk.exe"
!define CLI_EXE "reeldesk-cli.exe"
!define UNINSTALLER "Uninstall ReelDesk.exe"
!define REGKEY "Software\ReelDesk"
!define UNINSTKEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\ReelDesk"
; core.library.default_library_dir(): platformdirs.user_data_dir("ReelDesk", "ReelDesk") / "Library"
!define DATA_DIR "$LOCALAPPDATA\ReelDesk\ReelDesk"
!define LIBRARY_DIR "${DATA_DIR}\Library"

!include "MUI2.nsh"
!include "LogicLib.nsh"
!include "FileFunc.nsh"
!include "nsDialogs.nsh"
!include "x64.nsh"

Name "${APP}"
OutFile "${OUTFILE}"
RequestExecutionLevel user
InstallDir "$LOCALAPPDATA\Programs\${APP}"
InstallDirRegKey HKCU "${REGKEY}" "InstallDir"
BrandingText "${APP} ${VERSION}"

VIProductVersion "${VIVERSION}"
VIAddVersionKey "ProductName" "${APP}"
VIAddVersionKey "ProductVersion" "${VERSION}"
VIAddVersionKey "FileVersion" "${VERSION}"
VIAddVersionKey "CompanyName" "${PUBLISHER}"
VIAddVersionKey "FileDescription" "${APP} ${VERSION} Setup"
VIAddVersionKey "LegalCopyright" "${PUBLISHER}"

!define MUI_ABORTWARNING
!define MUI_COMPONENTSPAGE_NODESC
!define MUI_FINISHPAGE_RUN "$INSTDIR\${APP_EXE}"
!define MUI_FINISHPAGE_RUN_TEXT "Start ${APP}"

!insertmacro MUI_PAGE_WELCOME
!define MUI_PAGE_CUSTOMFUNCTION_LEAVE CheckNotRunning
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_COMPONENTS
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH

!insertmacro MUI_UNPAGE_CONFIRM
UninstPage custom un.LibraryPage un.LibraryPageLeave
!insertmacro MUI_UNPAGE_INSTFILES

!insertmacro MUI_LANGUAGE "English"

Var RemoveLibrary    ; "1" when the user asked to delete their library too
Var RemoveLibraryBox

Function .onInit
  ${IfNot} ${RunningX64}
    MessageBox MB_OK|MB_ICONSTOP "${APP} needs 64-bit Windows."
    Abort
  ${EndIf}
  SetShellVarContext current ; per-user Start menu and desktop
FunctionEnd

; Replacing the files of a running app fails half-way. A running exe can be renamed but not opened
; for writing, so a write-open probe tells. Called when leaving the directory page (the user stays
; on it) and again before copying (silent installs).
Function CheckNotRunning
  ${IfNot} ${FileExists} "$INSTDIR\${APP_EXE}"
    Return
  ${EndIf}
  probe:
  ClearErrors
  FileOpen $0 "$INSTDIR\${APP_EXE}" a
  ${If} ${Errors}
    MessageBox MB_RETRYCANCEL|MB_ICONEXCLAMATION "${APP} is running. Close it, then choose Retry." /SD IDCANCEL IDRETRY probe
    Abort
  ${EndIf}
  FileClose $0
FunctionEnd

Section "${APP} (required)" SecApp
  SectionIn RO
  SetOutPath "$INSTDIR"
  Call CheckNotRunning
  RMDir /r "$INSTDIR\_internal" ; an upgrade must not keep libraries the new build dropped
  File /r "${PAYLOAD}\*.*"
  WriteUninstaller "$INSTDIR\${UNINSTALLER}"

  CreateShortcut "$SMPROGRAMS\${APP}.lnk" "$INSTDIR\${APP_EXE}" "" "$INSTDIR\${APP_EXE}" 0

  WriteRegStr HKCU "${REGKEY}" "InstallDir" "$INSTDIR"
  WriteRegStr HKCU "${REGKEY}" "Version" "${VERSION}"
  WriteRegStr HKCU "${UNINSTKEY}" "DisplayName" "${APP}"
  WriteRegStr HKCU "${UNINSTKEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKCU "${UNINSTKEY}" "Publisher" "${PUBLISHER}"
  WriteRegStr HKCU "${UNINSTKEY}" "DisplayIcon" "$INSTDIR\${APP_EXE},0"
  WriteRegStr HKCU "${UNINSTKEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKCU "${UNINSTKEY}" "UninstallString" '"$INSTDIR\${UNINSTALLER}"'
  WriteRegStr HKCU "${UNINSTKEY}" "QuietUninstallString" '"$INSTDIR\${UNINSTALLER}" /S'
  WriteRegDWORD HKCU "${UNINSTKEY}" "NoModify" 1
  WriteRegDWORD HKCU "${UNINSTKEY}" "NoRepair" 1
  ${GetSize} "$INSTDIR" "/S=0K" $0 $1 $2
  IntFmt $0 "0x%08X" $0
  WriteRegDWORD HKCU "${UNINSTKEY}" "EstimatedSize" "$0"
SectionEnd

Section /o "Desktop shortcut" SecDesktop
  CreateShortcut "$DESKTOP\${APP}.lnk" "$INSTDIR\${APP_EXE}" "" "$INSTDIR\${APP_EXE}" 0
SectionEnd

; -- uninstaller ---------------------------------------------------------------------------------
Function un.onInit
  SetShellVarContext current
  StrCpy $RemoveLibrary "0"
  ${GetParameters} $0
  ClearErrors
  ${GetOptions} $0 "/REMOVELIBRARY" $1
  ${IfNot} ${Errors}
    StrCpy $RemoveLibrary "1"
  ${EndIf}
FunctionEnd

Function un.LibraryPage
  !insertmacro MUI_HEADER_TEXT "Your library" "Keep or remove your clips, projects and exports."
  nsDialogs::Create 1018
  Pop $0
  ${If} $0 == error
    Abort
  ${EndIf}
  ${NSD_CreateLabel} 0 0 100% 48u "Your library (clips, projects, imported media copies, exports and settings) is in$\r$\n${LIBRARY_DIR}$\r$\n$\r$\nIt is kept, so reinstalling ${APP} finds your work again. A library in another folder is never touched."
  Pop $0
  ${NSD_CreateCheckbox} 0 56u 100% 12u "Also remove my library (this deletes your work on this computer)"
  Pop $RemoveLibraryBox
  ${If} $RemoveLibrary == "1"
    ${NSD_Check} $RemoveLibraryBox
  ${EndIf}
  nsDialogs::Show
FunctionEnd

Function un.LibraryPageLeave
  ${NSD_GetState} $RemoveLibraryBox $0
  ${If} $0 == ${BST_CHECKED}
    StrCpy $RemoveLibrary "1"
  ${Else}
    StrCpy $RemoveLibrary "0"
  ${EndIf}
FunctionEnd

Section "Uninstall"
  ; Only what the installer put there: never RMDir /r $INSTDIR (it may be a folder the user chose).
  Delete "$INSTDIR\${APP_EXE}"
  Delete "$INSTDIR\${CLI_EXE}"
  RMDir /r "$INSTDIR\_internal"
  Delete "$INSTDIR\${UNINSTALLER}"
  RMDir "$INSTDIR"

  Delete "$SMPROGRAMS\${APP}.lnk"
  Delete "$DESKTOP\${APP}.lnk"

  DeleteRegKey HKCU "${UNINSTKEY}"
  DeleteRegValue HKCU "${REGKEY}" "InstallDir"
  DeleteRegValue HKCU "${REGKEY}" "Version"
  DeleteRegKey /ifempty HKCU "${REGKEY}"

  ${If} $RemoveLibrary == "1"
    DetailPrint "Removing the library in ${LIBRARY_DIR}"
    RMDir /r "${LIBRARY_DIR}"
    RMDir "${DATA_DIR}"
    RMDir "$LOCALAPPDATA\ReelDesk"
  ${Else}
    DetailPrint "Keeping the library in ${LIBRARY_DIR}"
  ${EndIf}
SectionEnd
