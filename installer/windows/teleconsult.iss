; Inno Setup script for the Windows installer of Teleconsult Workstation.
; Build the bundle on Windows first (python installer\build.py bundle), then:
;   iscc /DAppVersion=0.1.0 installer\windows\teleconsult.iss
; The installer puts the one-folder bundle under Program Files, a Start menu entry, the site
; configuration template under ProgramData (kept on upgrade and on uninstall), and optionally the
; backend started at boot. teleconsult-server is a console program, not a Windows service (it does
; not answer the service control manager), so it runs as a SYSTEM scheduled task at start-up.
; Not built in CI (no Windows runner): build and test it on Windows before a release.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#define AppName "Teleconsult Workstation"
#define Bundle "..\..\dist\teleconsult"

[Setup]
AppId={{6F1B7C2A-3E57-4C7B-9A0E-5E2C3D1A7B40}
AppName={#AppName}
AppVersion={#AppVersion}
AppPublisher=Teleconsult
DefaultDirName={autopf}\Teleconsult
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
OutputDir=..\..\dist
OutputBaseFilename=teleconsult-{#AppVersion}-setup
SetupIconFile=..\..\resources\icons\teleconsult.ico
UninstallDisplayIcon={app}\teleconsult.exe
Compression=lzma2/max
SolidCompression=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
PrivilegesRequired=admin
WizardStyle=modern

[Languages]
Name: "en"; MessagesFile: "compiler:Default.isl"
Name: "zh_CN"; MessagesFile: "compiler:Languages\ChineseSimplified.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"
Name: "backendservice"; Description: "Run the backend (teleconsult-server) on this machine at start-up"; Flags: unchecked

[Files]
Source: "{#Bundle}\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs
; The site file: installed once, never overwritten, kept on uninstall (IT owns it).
Source: "..\site.toml.example"; DestDir: "{commonappdata}\teleconsult"; DestName: "site.toml"; Flags: onlyifdoesntexist uninsneveruninstall
Source: "..\site.toml.example"; DestDir: "{app}"; Flags: ignoreversion

[Dirs]
Name: "{commonappdata}\teleconsult-server"; Permissions: system-modify

[Icons]
Name: "{group}\{#AppName}"; Filename: "{app}\teleconsult.exe"
Name: "{group}\Teleconsult doctor (check this workstation)"; Filename: "{cmd}"; Parameters: "/k ""{app}\teleconsult.exe"" doctor"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\teleconsult.exe"; Tasks: desktopicon

[Run]
; The bundle's executable is the backend when started under the name teleconsult-server.
Filename: "{cmd}"; Parameters: "/c copy /y ""{app}\teleconsult.exe"" ""{app}\teleconsult-server.exe"""; Flags: runhidden; Tasks: backendservice
Filename: "{app}\teleconsult-server.exe"; Parameters: "init --database-url sqlite:///{commonappdata}\teleconsult-server\backend.sqlite3"; Flags: runhidden; Tasks: backendservice
Filename: "{sys}\schtasks.exe"; Parameters: "/create /f /tn teleconsult-server /sc onstart /ru SYSTEM /tr ""\""{app}\teleconsult-server.exe\"" serve --database-url sqlite:///{commonappdata}\teleconsult-server\backend.sqlite3"""; Flags: runhidden; Tasks: backendservice
Filename: "{app}\teleconsult.exe"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

[UninstallRun]
Filename: "{sys}\schtasks.exe"; Parameters: "/end /tn teleconsult-server"; Flags: runhidden; RunOnceId: "StopBackend"
Filename: "{sys}\schtasks.exe"; Parameters: "/delete /f /tn teleconsult-server"; Flags: runhidden; RunOnceId: "DeleteBackend"

[UninstallDelete]
Type: files; Name: "{app}\teleconsult-server.exe"
