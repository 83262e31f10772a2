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
    <name>LockScreen</name>
    <message>
      <source>%1 - locked after %2 minutes without activity. Enter your password to continue.</source>
      <translation>%1 - 无操作 %2 分钟后已锁定。请输入密码继续。</translation>
    </message>
    <message>
      <source>Password</source>
      <translation>密码</translation>
    </message>
    <message>
      <source>Sign out</source>
      <translation>退出登录</translation>
    </message>
    <message>
      <source>Unlock</source>
      <translation>解锁</translation>
    </message>
    <message>
      <source>Workstation locked</source>
      <translation>工作站已锁定</translation>
    </message>
    <message>
      <source>Wrong password.</source>
      <translation>密码错误。</translation>
    </message>
  </context>
  <context>
    <name>LoginDialog</name>
    <message>
      <source>Enter your username and password.</source>
      <translation>请输入用户名和密码。</translation>
    </message>
    <message>
      <source>Password:</source>
      <translation>密码：</translation>
    </message>
    <message>
      <source>Server:</source>
      <translation>服务器：</translation>
    </message>
    <message>
      <source>Sign in</source>
      <translation>登录</translation>
    </message>
    <message>
      <source>Sign in to Teleconsult</source>
      <translation>登录远程会诊系统</translation>
    </message>
    <message>
      <source>Signing in...</source>
      <translation>正在登录...</translation>
    </message>
    <message>
      <source>Username:</source>
      <translation>用户名：</translation>
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
    <name>Notes</name>
    <message>
      <source>Add to notes</source>
      <translation>加入会诊记录</translation>
    </message>
    <message>
      <source>Chat</source>
      <translation>聊天</translation>
    </message>
    <message>
      <source>Chat and notes of the open consultation appear here.</source>
      <translation>当前会诊的聊天与记录将在此显示。</translation>
    </message>
    <message>
      <source>No consultation open</source>
      <translation>未打开会诊</translation>
    </message>
    <message>
      <source>Note</source>
      <translation>记录</translation>
    </message>
    <message>
      <source>Send chat</source>
      <translation>发送消息</translation>
    </message>
    <message>
      <source>The backend refused this entry; see the log</source>
      <translation>后端拒绝了此条目，请查看日志</translation>
    </message>
    <message>
      <source>Type a message or a consult note...</source>
      <translation>输入消息或会诊记录...</translation>
    </message>
    <message>
      <source>Waiting to be delivered to the backend</source>
      <translation>等待发送到后端</translation>
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
    <name>QtAlarmBanner</name>
    <message>
      <source>APNOEA</source>
      <translation>呼吸暂停</translation>
    </message>
    <message>
      <source>ASYSTOLE</source>
      <translation>心脏停搏</translation>
    </message>
    <message>
      <source>Acknowledge</source>
      <translation>确认</translation>
    </message>
    <message>
      <source>Arterial pressure signal lost</source>
      <translation>有创动脉压信号丢失</translation>
    </message>
    <message>
      <source>Audio on</source>
      <translation>报警音开启</translation>
    </message>
    <message>
      <source>Audio pause 2 min</source>
      <translation>静音 2 分钟</translation>
    </message>
    <message>
      <source>Audio paused %1:%2</source>
      <translation>已静音 %1:%2</translation>
    </message>
    <message>
      <source>CO2 signal lost</source>
      <translation>二氧化碳信号丢失</translation>
    </message>
    <message>
      <source>ECG lead off</source>
      <translation>心电导联脱落</translation>
    </message>
    <message>
      <source>ECG signal lost</source>
      <translation>心电信号丢失</translation>
    </message>
    <message>
      <source>HR high</source>
      <translation>心率过高</translation>
    </message>
    <message>
      <source>HR low</source>
      <translation>心率过低</translation>
    </message>
    <message>
      <source>Irregular HR</source>
      <translation>心律不齐</translation>
    </message>
    <message>
      <source>NEWS2: emergency response</source>
      <translation>NEWS2：需紧急抢救响应</translation>
    </message>
    <message>
      <source>NEWS2: urgent response</source>
      <translation>NEWS2：需紧急响应</translation>
    </message>
    <message>
      <source>No active alarms</source>
      <translation>无活动报警</translation>
    </message>
    <message>
      <source>Respiration rate high</source>
      <translation>呼吸频率过高</translation>
    </message>
    <message>
      <source>Respiration rate low</source>
      <translation>呼吸频率过低</translation>
    </message>
    <message>
      <source>Respiration signal lost</source>
      <translation>呼吸信号丢失</translation>
    </message>
    <message>
      <source>SpO2 low</source>
      <translation>血氧饱和度过低</translation>
    </message>
    <message>
      <source>SpO2 signal lost</source>
      <translation>血氧信号丢失</translation>
    </message>
    <message>
      <source>Systolic pressure high</source>
      <translation>收缩压过高</translation>
    </message>
    <message>
      <source>Systolic pressure low</source>
      <translation>收缩压过低</translation>
    </message>
    <message>
      <source>Temperature high</source>
      <translation>体温过高</translation>
    </message>
    <message>
      <source>Vital signs data delayed</source>
      <translation>生命体征数据延迟</translation>
    </message>
    <message>
      <source>etCO2 high</source>
      <translation>呼气末二氧化碳过高</translation>
    </message>
    <message>
      <source>etCO2 low</source>
      <translation>呼气末二氧化碳过低</translation>
    </message>
    <message>
      <source>⚠ No alarm sound on this workstation</source>
      <translation>⚠ 本工作站无法发出报警声音</translation>
    </message>
  </context>
  <context>
    <name>QtLimitsDialog</name>
    <message>
      <source>Alarm limits for this patient</source>
      <translation>本患者的报警限值</translation>
    </message>
    <message>
      <source>Apnoea after</source>
      <translation>呼吸暂停判定时间</translation>
    </message>
    <message>
      <source>Asystole after</source>
      <translation>心脏停搏判定时间</translation>
    </message>
    <message>
      <source>Heart rate high</source>
      <translation>心率上限</translation>
    </message>
    <message>
      <source>Heart rate low</source>
      <translation>心率下限</translation>
    </message>
    <message>
      <source>Respiration rate high</source>
      <translation>呼吸频率上限</translation>
    </message>
    <message>
      <source>Respiration rate low</source>
      <translation>呼吸频率下限</translation>
    </message>
    <message>
      <source>SpO2 low</source>
      <translation>SpO2 下限</translation>
    </message>
    <message>
      <source>Systolic pressure high</source>
      <translation>收缩压上限</translation>
    </message>
    <message>
      <source>Systolic pressure low</source>
      <translation>收缩压下限</translation>
    </message>
    <message>
      <source>Temperature high</source>
      <translation>体温上限</translation>
    </message>
    <message>
      <source>etCO2 high</source>
      <translation>etCO2 上限</translation>
    </message>
    <message>
      <source>etCO2 low</source>
      <translation>etCO2 下限</translation>
    </message>
  </context>
  <context>
    <name>QtVitalsPanel</name>
    <message>
      <source>12-lead ECG</source>
      <translation>12 导联心电图</translation>
    </message>
    <message>
      <source>ACVPU</source>
      <translation>ACVPU 意识</translation>
    </message>
    <message>
      <source>ART mmHg</source>
      <translation>有创血压 mmHg</translation>
    </message>
    <message>
      <source>ART sys</source>
      <translation>有创收缩压</translation>
    </message>
    <message>
      <source>Alarm limits…</source>
      <translation>报警限值…</translation>
    </message>
    <message>
      <source>Apnoea</source>
      <translation>呼吸暂停</translation>
    </message>
    <message>
      <source>Asystole</source>
      <translation>心脏停搏</translation>
    </message>
    <message>
      <source>Atrial fibrillation</source>
      <translation>心房颤动</translation>
    </message>
    <message>
      <source>Bedside monitor (HL7)</source>
      <translation>床旁监护仪 (HL7)</translation>
    </message>
    <message>
      <source>Desaturation</source>
      <translation>血氧下降</translation>
    </message>
    <message>
      <source>Gaps: %1 s of samples lost</source>
      <translation>间断：丢失 %1 秒数据</translation>
    </message>
    <message>
      <source>HR</source>
      <translation>心率</translation>
    </message>
    <message>
      <source>HR /min</source>
      <translation>心率 /分</translation>
    </message>
    <message>
      <source>Hypotension</source>
      <translation>低血压</translation>
    </message>
    <message>
      <source>Lead off</source>
      <translation>导联脱落</translation>
    </message>
    <message>
      <source>Monitor</source>
      <translation>监护</translation>
    </message>
    <message>
      <source>NEWS2</source>
      <translation>NEWS2</translation>
    </message>
    <message>
      <source>NIBP mmHg</source>
      <translation>无创血压 mmHg</translation>
    </message>
    <message>
      <source>Newest sample is %1 s old</source>
      <translation>最新数据距今 %1 秒</translation>
    </message>
    <message>
      <source>No data yet</source>
      <translation>尚无数据</translation>
    </message>
    <message>
      <source>Normal sinus rhythm</source>
      <translation>正常窦性心律</translation>
    </message>
    <message>
      <source>On oxygen</source>
      <translation>吸氧中</translation>
    </message>
    <message>
      <source>Pulse %1</source>
      <translation>脉率 %1</translation>
    </message>
    <message>
      <source>RR</source>
      <translation>呼吸</translation>
    </message>
    <message>
      <source>RR /min</source>
      <translation>呼吸 /分</translation>
    </message>
    <message>
      <source>Recordings (*.hea *.csv);;All files (*)</source>
      <translation>记录文件 (*.hea *.csv);;所有文件 (*)</translation>
    </message>
    <message>
      <source>Replay a recording</source>
      <translation>回放记录</translation>
    </message>
    <message>
      <source>Replay a recording…</source>
      <translation>回放记录…</translation>
    </message>
    <message>
      <source>ST elevation</source>
      <translation>ST 段抬高</translation>
    </message>
    <message>
      <source>Scroll</source>
      <translation>滚动</translation>
    </message>
    <message>
      <source>Simulator</source>
      <translation>模拟器</translation>
    </message>
    <message>
      <source>Simulator scenario:</source>
      <translation>模拟场景：</translation>
    </message>
    <message>
      <source>Sinus tachycardia</source>
      <translation>窦性心动过速</translation>
    </message>
    <message>
      <source>Source not changed: %1</source>
      <translation>信号源未更改：%1</translation>
    </message>
    <message>
      <source>Source:</source>
      <translation>信号源：</translation>
    </message>
    <message>
      <source>SpO2</source>
      <translation>血氧</translation>
    </message>
    <message>
      <source>SpO2 %</source>
      <translation>血氧 %</translation>
    </message>
    <message>
      <source>Sweep</source>
      <translation>扫描</translation>
    </message>
    <message>
      <source>Temp °C</source>
      <translation>体温 °C</translation>
    </message>
    <message>
      <source>Trends</source>
      <translation>趋势</translation>
    </message>
    <message>
      <source>etCO2 mmHg</source>
      <translation>呼末CO2 mmHg</translation>
    </message>
    <message>
      <source>from pulse</source>
      <translation>来自脉搏</translation>
    </message>
    <message>
      <source>high: emergency response</source>
      <translation>高：紧急抢救响应</translation>
    </message>
    <message>
      <source>listening on %1</source>
      <translation>正在监听 %1</translation>
    </message>
    <message>
      <source>low</source>
      <translation>低</translation>
    </message>
    <message>
      <source>low-medium: urgent ward review</source>
      <translation>中低：病房紧急评估</translation>
    </message>
    <message>
      <source>medium: urgent response</source>
      <translation>中：紧急响应</translation>
    </message>
    <message>
      <source>minutes</source>
      <translation>分钟</translation>
    </message>
  </context>
  <context>
    <name>Session</name>
    <message>
      <source>&amp;Lock workstation</source>
      <translation>锁定工作站(&amp;L)</translation>
    </message>
    <message>
      <source>Backend unavailable: %1</source>
      <translation>后端不可用：%1</translation>
    </message>
    <message>
      <source>Not signed in. Use File &gt; Sign in to continue.</source>
      <translation>未登录。请使用“文件 &gt; 登录”继续。</translation>
    </message>
    <message>
      <source>Sign &amp;in...</source>
      <translation>登录(&amp;I)...</translation>
    </message>
    <message>
      <source>Sign &amp;out</source>
      <translation>退出登录(&amp;O)</translation>
    </message>
    <message>
      <source>Signed in as %1, whose role differs from this window's.</source>
      <translation>已以 %1 登录，其角色与本窗口不符。</translation>
    </message>
    <message>
      <source>The backend is not reachable yet.</source>
      <translation>暂时无法连接到后端。</translation>
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
  <context>
    <name>Worklist</name>
    <message>
      <source>%1 waiting, %2 past the target</source>
      <translation>%1 个等待中，%2 个已超时</translation>
    </message>
    <message>
      <source>Accept</source>
      <translation>接受</translation>
    </message>
    <message>
      <source>Accepted</source>
      <translation>已接受</translation>
    </message>
    <message>
      <source>Accepted by %1</source>
      <translation>接诊医生：%1</translation>
    </message>
    <message>
      <source>Cardiology</source>
      <translation>心内科</translation>
    </message>
    <message>
      <source>Close consultation</source>
      <translation>结束会诊</translation>
    </message>
    <message>
      <source>Close with outcome...</source>
      <translation>填写结论并结束...</translation>
    </message>
    <message>
      <source>Closed</source>
      <translation>已结束</translation>
    </message>
    <message>
      <source>Emergency</source>
      <translation>紧急</translation>
    </message>
    <message>
      <source>In session</source>
      <translation>会诊中</translation>
    </message>
    <message>
      <source>New requests appear here as soon as they are sent.</source>
      <translation>新的会诊请求一经发送即在此显示。</translation>
    </message>
    <message>
      <source>No consultation requests</source>
      <translation>没有会诊请求</translation>
    </message>
    <message>
      <source>OVERDUE</source>
      <translation>已超时</translation>
    </message>
    <message>
      <source>Oncology</source>
      <translation>肿瘤科</translation>
    </message>
    <message>
      <source>Open</source>
      <translation>待接诊</translation>
    </message>
    <message>
      <source>Outcome for %1:</source>
      <translation>%1 的会诊结论：</translation>
    </message>
    <message>
      <source>Outcome: %1</source>
      <translation>结论：%1</translation>
    </message>
    <message>
      <source>Patient</source>
      <translation>患者</translation>
    </message>
    <message>
      <source>Radiology</source>
      <translation>放射科</translation>
    </message>
    <message>
      <source>Refresh</source>
      <translation>刷新</translation>
    </message>
    <message>
      <source>Requested by %1</source>
      <translation>申请医生：%1</translation>
    </message>
    <message>
      <source>Routine</source>
      <translation>常规</translation>
    </message>
    <message>
      <source>Select a request to see its question.</source>
      <translation>选择一个请求以查看会诊问题。</translation>
    </message>
    <message>
      <source>Specialty</source>
      <translation>专科</translation>
    </message>
    <message>
      <source>Start session</source>
      <translation>开始会诊</translation>
    </message>
    <message>
      <source>State</source>
      <translation>状态</translation>
    </message>
    <message>
      <source>Stroke</source>
      <translation>卒中中心</translation>
    </message>
    <message>
      <source>Ultrasound</source>
      <translation>超声科</translation>
    </message>
    <message>
      <source>Urgency</source>
      <translation>紧急程度</translation>
    </message>
    <message>
      <source>Urgent</source>
      <translation>加急</translation>
    </message>
    <message>
      <source>Waiting</source>
      <translation>等待时间</translation>
    </message>
  </context>
</TS>
