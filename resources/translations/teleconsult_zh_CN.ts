<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN" sourcelanguage="en">
  <context>
    <name>AboutDialog</name>
    <message>
      <source>About Teleconsult Workstation</source>
      <translation>关于远程会诊工作站</translation>
    </message>
    <message>
      <source>Component</source>
      <translation>组件</translation>
    </message>
    <message>
      <source>Remote consultation, imaging, guidance and vital signs.</source>
      <translation>远程会诊、医学影像、操作引导与生命体征监护。</translation>
    </message>
    <message>
      <source>Version</source>
      <translation>版本</translation>
    </message>
  </context>
  <context>
    <name>CrashDialog</name>
    <message>
      <source>Continue</source>
      <translation>继续</translation>
    </message>
    <message>
      <source>Quit</source>
      <translation>退出</translation>
    </message>
    <message>
      <source>Something went wrong: %1</source>
      <translation>发生错误：%1</translation>
    </message>
    <message>
      <source>The details were written to the log file:
%1

Your work is kept. Continue if the workstation still responds, or quit and start it again.</source>
      <translation>详细信息已写入日志文件：
%1

您的工作已保留。如果工作站仍能响应，请继续；否则请退出并重新启动。</translation>
    </message>
    <message>
      <source>Unexpected error</source>
      <translation>意外错误</translation>
    </message>
  </context>
  <context>
    <name>Diagnostics</name>
    <message>
      <source>Backend link:</source>
      <translation>后端连接：</translation>
    </message>
    <message>
      <source>Backend:</source>
      <translation>后端：</translation>
    </message>
    <message>
      <source>Components</source>
      <translation>组件</translation>
    </message>
    <message>
      <source>Data folder:</source>
      <translation>数据文件夹：</translation>
    </message>
    <message>
      <source>Display platform:</source>
      <translation>显示平台：</translation>
    </message>
    <message>
      <source>Log file:</source>
      <translation>日志文件：</translation>
    </message>
    <message>
      <source>PACS endpoints:</source>
      <translation>PACS 节点：</translation>
    </message>
    <message>
      <source>STUN/TURN servers:</source>
      <translation>STUN/TURN 服务器：</translation>
    </message>
    <message>
      <source>Site configuration file:</source>
      <translation>站点配置文件：</translation>
    </message>
    <message>
      <source>Site:</source>
      <translation>站点：</translation>
    </message>
    <message>
      <source>This workstation</source>
      <translation>本工作站</translation>
    </message>
  </context>
  <context>
    <name>MainWindow</name>
    <message>
      <source>&amp;About Teleconsult Workstation</source>
      <translation>关于远程会诊工作站(&amp;A)</translation>
    </message>
    <message>
      <source>&amp;File</source>
      <translation>文件(&amp;F)</translation>
    </message>
    <message>
      <source>&amp;Full screen</source>
      <translation>全屏(&amp;F)</translation>
    </message>
    <message>
      <source>&amp;Help</source>
      <translation>帮助(&amp;H)</translation>
    </message>
    <message>
      <source>&amp;Quit</source>
      <translation>退出(&amp;Q)</translation>
    </message>
    <message>
      <source>&amp;Reset layout</source>
      <translation>重置布局(&amp;R)</translation>
    </message>
    <message>
      <source>&amp;Settings...</source>
      <translation>设置(&amp;S)...</translation>
    </message>
    <message>
      <source>&amp;View</source>
      <translation>视图(&amp;V)</translation>
    </message>
    <message>
      <source>(%1 waiting to send)</source>
      <translation>（%1 条待发送）</translation>
    </message>
    <message>
      <source>A study opens here with the consultation it belongs to.</source>
      <translation>打开会诊时，其关联的检查将在此显示。</translation>
    </message>
    <message>
      <source>Accept a consultation request to start the call.</source>
      <translation>接受一个会诊请求即可开始通话。</translation>
    </message>
    <message>
      <source>Backend: connected</source>
      <translation>后端：已连接</translation>
    </message>
    <message>
      <source>Backend: connecting...</source>
      <translation>后端：正在连接...</translation>
    </message>
    <message>
      <source>Backend: offline</source>
      <translation>后端：离线</translation>
    </message>
    <message>
      <source>Backend: unreachable</source>
      <translation>后端：无法访问</translation>
    </message>
    <message>
      <source>Chat and notes</source>
      <translation>聊天与记录</translation>
    </message>
    <message>
      <source>Chat and notes of the open consultation appear here.</source>
      <translation>当前会诊的聊天与记录将在此显示。</translation>
    </message>
    <message>
      <source>Consultation video</source>
      <translation>会诊视频</translation>
    </message>
    <message>
      <source>County doctor</source>
      <translation>县级医生</translation>
    </message>
    <message>
      <source>Diagnostics</source>
      <translation>系统诊断</translation>
    </message>
    <message>
      <source>IT administrator</source>
      <translation>IT 管理员</translation>
    </message>
    <message>
      <source>Imaging</source>
      <translation>影像</translation>
    </message>
    <message>
      <source>Installed plugins and their tools are listed here.</source>
      <translation>已安装的插件及其工具将在此列出。</translation>
    </message>
    <message>
      <source>No call in progress</source>
      <translation>当前没有通话</translation>
    </message>
    <message>
      <source>No consultation open</source>
      <translation>未打开会诊</translation>
    </message>
    <message>
      <source>No consultation requests</source>
      <translation>没有会诊请求</translation>
    </message>
    <message>
      <source>No specialty plugins loaded</source>
      <translation>未加载专科插件</translation>
    </message>
    <message>
      <source>No study open</source>
      <translation>未打开检查</translation>
    </message>
    <message>
      <source>No vital signs</source>
      <translation>没有生命体征数据</translation>
    </message>
    <message>
      <source>Open &amp;log folder</source>
      <translation>打开日志文件夹(&amp;L)</translation>
    </message>
    <message>
      <source>Plugins</source>
      <translation>插件</translation>
    </message>
    <message>
      <source>Requests appear here when the workstation is connected to the backend.</source>
      <translation>工作站连接到后端后，会诊请求将在此显示。</translation>
    </message>
    <message>
      <source>Specialist</source>
      <translation>专科医生</translation>
    </message>
    <message>
      <source>Teleconsult Workstation - %1 - %2</source>
      <translation>远程会诊工作站 - %1 - %2</translation>
    </message>
    <message>
      <source>Trainee</source>
      <translation>学员</translation>
    </message>
    <message>
      <source>Vital signs</source>
      <translation>生命体征</translation>
    </message>
    <message>
      <source>Waveforms and numerics appear when the bedside streams them.</source>
      <translation>床旁传输数据后，波形和数值将在此显示。</translation>
    </message>
    <message>
      <source>Worklist</source>
      <translation>工作列表</translation>
    </message>
    <message>
      <source>Your settings file was damaged and was set aside as %1; defaults are in use.</source>
      <translation>您的设置文件已损坏，已另存为 %1；当前使用默认设置。</translation>
    </message>
    <message>
      <source>not signed in</source>
      <translation>未登录</translation>
    </message>
  </context>
  <context>
    <name>PatientBanner</name>
    <message>
      <source>Born %1 (%2 y)</source>
      <translation>出生 %1（%2 岁）</translation>
    </message>
    <message>
      <source>De-identified (teaching)</source>
      <translation>已去标识化（教学）</translation>
    </message>
    <message>
      <source>Female</source>
      <translation>女</translation>
    </message>
    <message>
      <source>ID: %1</source>
      <translation>ID：%1</translation>
    </message>
    <message>
      <source>Male</source>
      <translation>男</translation>
    </message>
    <message>
      <source>Other</source>
      <translation>其他</translation>
    </message>
    <message>
      <source>Sex unknown</source>
      <translation>性别未知</translation>
    </message>
  </context>
  <context>
    <name>SettingsDialog</name>
    <message>
      <source>%1 minutes (set by your site)</source>
      <translation>%1 分钟（由站点设定）</translation>
    </message>
    <message>
      <source>Inactivity lock:</source>
      <translation>无操作锁定：</translation>
    </message>
    <message>
      <source>Language:</source>
      <translation>语言：</translation>
    </message>
    <message>
      <source>Reset window layout</source>
      <translation>重置窗口布局</translation>
    </message>
    <message>
      <source>Settings</source>
      <translation>设置</translation>
    </message>
    <message>
      <source>Site configuration:</source>
      <translation>站点配置：</translation>
    </message>
    <message>
      <source>System default</source>
      <translation>跟随系统</translation>
    </message>
    <message>
      <source>none (built-in defaults)</source>
      <translation>无（使用内置默认值）</translation>
    </message>
  </context>
</TS>
