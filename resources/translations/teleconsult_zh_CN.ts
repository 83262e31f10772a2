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
    <name>Annotations</name>
    <message>
      <source>Anchor</source>
      <translation>锚定</translation>
    </message>
    <message>
      <source>Arrow</source>
      <translation>箭头</translation>
    </message>
    <message>
      <source>Circle</source>
      <translation>圆形</translation>
    </message>
    <message>
      <source>Clear</source>
      <translation>清除</translation>
    </message>
    <message>
      <source>Click points; double-click or Enter ends the path</source>
      <translation>单击添加点；双击或按 Enter 结束路径</translation>
    </message>
    <message>
      <source>Click, type a label, Enter</source>
      <translation>单击，输入标签，按 Enter</translation>
    </message>
    <message>
      <source>Colour</source>
      <translation>颜色</translation>
    </message>
    <message>
      <source>Colour of new shapes</source>
      <translation>新图形的颜色</translation>
    </message>
    <message>
      <source>Drag a circle or ellipse</source>
      <translation>拖动绘制圆形或椭圆</translation>
    </message>
    <message>
      <source>Drag from tail to head</source>
      <translation>从箭尾拖向箭头</translation>
    </message>
    <message>
      <source>Draw freehand (pen pressure)</source>
      <translation>手绘（支持笔压）</translation>
    </message>
    <message>
      <source>FROZEN</source>
      <translation>已冻结</translation>
    </message>
    <message>
      <source>Freeze</source>
      <translation>冻结画面</translation>
    </message>
    <message>
      <source>Freeze the picture at both sites to annotate it; release to go live</source>
      <translation>在双方冻结画面以便标注；解除冻结恢复实时画面</translation>
    </message>
    <message>
      <source>Label, then Enter</source>
      <translation>输入标签后按 Enter</translation>
    </message>
    <message>
      <source>Mark a point</source>
      <translation>标记一个点</translation>
    </message>
    <message>
      <source>Marker</source>
      <translation>标记</translation>
    </message>
    <message>
      <source>Measure a distance</source>
      <translation>测量距离</translation>
    </message>
    <message>
      <source>My colour</source>
      <translation>我的颜色</translation>
    </message>
    <message>
      <source>New shapes follow the tissue when the camera or probe moves</source>
      <translation>摄像头或探头移动时，新图形跟随组织移动</translation>
    </message>
    <message>
      <source>No drawing tool</source>
      <translation>无绘图工具</translation>
    </message>
    <message>
      <source>Path</source>
      <translation>路径</translation>
    </message>
    <message>
      <source>Pen</source>
      <translation>画笔</translation>
    </message>
    <message>
      <source>Point</source>
      <translation>点</translation>
    </message>
    <message>
      <source>Point at something briefly</source>
      <translation>临时指示某处</translation>
    </message>
    <message>
      <source>Redo</source>
      <translation>重做</translation>
    </message>
    <message>
      <source>Release</source>
      <translation>解除冻结</translation>
    </message>
    <message>
      <source>Remove every annotation on the video (undoable)</source>
      <translation>删除视频上的所有标注（可撤销）</translation>
    </message>
    <message>
      <source>Ruler</source>
      <translation>标尺</translation>
    </message>
    <message>
      <source>Text</source>
      <translation>文字</translation>
    </message>
    <message>
      <source>Tracking lost: %1 anchored annotation(s)</source>
      <translation>跟踪丢失：%1 个锚定标注</translation>
    </message>
    <message>
      <source>Undo</source>
      <translation>撤销</translation>
    </message>
    <message>
      <source>Undo my last change</source>
      <translation>撤销我的上一次更改</translation>
    </message>
    <message>
      <source>View</source>
      <translation>视图</translation>
    </message>
  </context>
  <context>
    <name>Answer</name>
    <message>
      <source>%1 key image(s)</source>
      <translation>%1 幅关键图像</translation>
    </message>
    <message>
      <source>Add current view as key image</source>
      <translation>将当前视图添加为关键图像</translation>
    </message>
    <message>
      <source>Answer</source>
      <translation>答复</translation>
    </message>
    <message>
      <source>Answer from %1</source>
      <translation>来自 %1 的答复</translation>
    </message>
    <message>
      <source>Answer in writing</source>
      <translation>书面答复</translation>
    </message>
    <message>
      <source>Answer sent.</source>
      <translation>答复已发送。</translation>
    </message>
    <message>
      <source>Cancel</source>
      <translation>取消</translation>
    </message>
    <message>
      <source>Key image %1</source>
      <translation>关键图像 %1</translation>
    </message>
    <message>
      <source>Key images could not be loaded: %1</source>
      <translation>无法加载关键图像：%1</translation>
    </message>
    <message>
      <source>Loading %1 key image(s)…</source>
      <translation>正在加载 %1 幅关键图像…</translation>
    </message>
    <message>
      <source>No DICOMweb archive is configured for key images.</source>
      <translation>尚未为关键图像配置 DICOMweb 存档。</translation>
    </message>
    <message>
      <source>No answer selected</source>
      <translation>未选择答复</translation>
    </message>
    <message>
      <source>No image is shown: open the study in Imaging first.</source>
      <translation>当前没有显示图像：请先在影像中打开该检查。</translation>
    </message>
    <message>
      <source>No key images</source>
      <translation>无关键图像</translation>
    </message>
    <message>
      <source>Not answered yet.</source>
      <translation>尚未答复。</translation>
    </message>
    <message>
      <source>Question</source>
      <translation>问题</translation>
    </message>
    <message>
      <source>Remove key image</source>
      <translation>移除关键图像</translation>
    </message>
    <message>
      <source>Send answer</source>
      <translation>发送答复</translation>
    </message>
    <message>
      <source>Sending…</source>
      <translation>正在发送…</translation>
    </message>
    <message>
      <source>The answer was not sent: %1</source>
      <translation>答复未发送：%1</translation>
    </message>
    <message>
      <source>The backend is not ready yet.</source>
      <translation>后端尚未就绪。</translation>
    </message>
    <message>
      <source>The image shown is not from this consult's study.</source>
      <translation>当前显示的图像不属于本会诊的检查。</translation>
    </message>
    <message>
      <source>The image shown is not of this consult's patient.</source>
      <translation>当前显示的图像不属于本会诊的患者。</translation>
    </message>
    <message>
      <source>Written answer</source>
      <translation>书面答复</translation>
    </message>
    <message>
      <source>Written answer for %1 (%2)</source>
      <translation>给 %1 的书面答复（%2）</translation>
    </message>
    <message>
      <source>Your answer to the requesting doctor:</source>
      <translation>您给申请医生的答复：</translation>
    </message>
  </context>
  <context>
    <name>AttachStudy</name>
    <message>
      <source>%1 (%2) - %3 instance(s), %4 - Study Instance UID %5</source>
      <translation>%1（%2）- %3 个实例，%4 - 检查实例 UID %5</translation>
    </message>
    <message>
      <source>(choose)</source>
      <translation>（请选择）</translation>
    </message>
    <message>
      <source>Archive:</source>
      <translation>归档：</translation>
    </message>
    <message>
      <source>Birth date:</source>
      <translation>出生日期：</translation>
    </message>
    <message>
      <source>Cancel upload</source>
      <translation>取消上传</translation>
    </message>
    <message>
      <source>Cancelled. Send again to resume where it stopped.</source>
      <translation>已取消。再次发送可从中断处继续。</translation>
    </message>
    <message>
      <source>Choose the study folder</source>
      <translation>选择检查文件夹</translation>
    </message>
    <message>
      <source>Female</source>
      <translation>女</translation>
    </message>
    <message>
      <source>Folder…</source>
      <translation>文件夹…</translation>
    </message>
    <message>
      <source>Loaded study:</source>
      <translation>已加载检查：</translation>
    </message>
    <message>
      <source>Male</source>
      <translation>男</translation>
    </message>
    <message>
      <source>Name:</source>
      <translation>姓名：</translation>
    </message>
    <message>
      <source>New consultation request</source>
      <translation>新建会诊申请</translation>
    </message>
    <message>
      <source>No DICOMweb archive is configured for this site (ask IT).</source>
      <translation>本站点未配置 DICOMweb 归档（请联系 IT）。</translation>
    </message>
    <message>
      <source>No study chosen.</source>
      <translation>未选择检查。</translation>
    </message>
    <message>
      <source>No study: %1</source>
      <translation>无检查：%1</translation>
    </message>
    <message>
      <source>Not sent: %1. Send again to resume where it stopped.</source>
      <translation>未发送：%1。再次发送可从中断处继续。</translation>
    </message>
    <message>
      <source>Other</source>
      <translation>其他</translation>
    </message>
    <message>
      <source>Patient ID:</source>
      <translation>患者 ID：</translation>
    </message>
    <message>
      <source>Question:</source>
      <translation>问题：</translation>
    </message>
    <message>
      <source>Reading the study…</source>
      <translation>正在读取检查…</translation>
    </message>
    <message>
      <source>Refused: this study is not of the request's patient (%1).</source>
      <translation>已拒绝：该检查不属于本申请的患者（%1）。</translation>
    </message>
    <message>
      <source>Send request</source>
      <translation>发送申请</translation>
    </message>
    <message>
      <source>Send to archive</source>
      <translation>发送到归档</translation>
    </message>
    <message>
      <source>Sending…</source>
      <translation>正在发送…</translation>
    </message>
    <message>
      <source>Sending… %1 of %2 instance(s)</source>
      <translation>正在发送… 第 %1 / %2 个实例</translation>
    </message>
    <message>
      <source>Sex:</source>
      <translation>性别：</translation>
    </message>
    <message>
      <source>Specialty:</source>
      <translation>专科：</translation>
    </message>
    <message>
      <source>Study (optional)</source>
      <translation>检查（可选）</translation>
    </message>
    <message>
      <source>The request's patient</source>
      <translation>申请中的患者</translation>
    </message>
    <message>
      <source>Unknown</source>
      <translation>未知</translation>
    </message>
    <message>
      <source>Urgency:</source>
      <translation>紧急程度：</translation>
    </message>
    <message>
      <source>Verified: the archive holds all %1 instance(s) (%2 sent, %3 already there).</source>
      <translation>已验证：归档中已有全部 %1 个实例（发送 %2 个，已存在 %3 个）。</translation>
    </message>
    <message>
      <source>What should the specialist answer?</source>
      <translation>需要专家解答什么问题？</translation>
    </message>
    <message>
      <source>YYYY-MM-DD</source>
      <translation>YYYY-MM-DD</translation>
    </message>
  </context>
  <context>
    <name>CallPanel</name>
    <message>
      <source>Bitrate: %1 kbit/s in, %2 kbit/s out</source>
      <translation>码率：接收 %1 kbit/s，发送 %2 kbit/s</translation>
    </message>
    <message>
      <source>Calibrate the depth and plan a needle path on the video</source>
      <translation>在视频上进行深度校准并规划穿刺路径</translation>
    </message>
    <message>
      <source>Call again</source>
      <translation>重新呼叫</translation>
    </message>
    <message>
      <source>Call ended</source>
      <translation>通话已结束</translation>
    </message>
    <message>
      <source>Camera off</source>
      <translation>关闭摄像头</translation>
    </message>
    <message>
      <source>Camera on</source>
      <translation>打开摄像头</translation>
    </message>
    <message>
      <source>Connected</source>
      <translation>已连接</translation>
    </message>
    <message>
      <source>Connecting...</source>
      <translation>正在连接...</translation>
    </message>
    <message>
      <source>Connection lost. Reconnecting...</source>
      <translation>连接中断，正在重新连接...</translation>
    </message>
    <message>
      <source>Connection quality: %1</source>
      <translation>连接质量：%1</translation>
    </message>
    <message>
      <source>Connection quality: not in a call</source>
      <translation>连接质量：未在通话中</translation>
    </message>
    <message>
      <source>Fair</source>
      <translation>一般</translation>
    </message>
    <message>
      <source>Frame rate: %1 fps</source>
      <translation>帧率：%1 fps</translation>
    </message>
    <message>
      <source>Good</source>
      <translation>良好</translation>
    </message>
    <message>
      <source>Hang up</source>
      <translation>挂断</translation>
    </message>
    <message>
      <source>Hang up anyway?</source>
      <translation>仍要挂断吗？</translation>
    </message>
    <message>
      <source>Join call</source>
      <translation>加入通话</translation>
    </message>
    <message>
      <source>Measuring...</source>
      <translation>正在测量...</translation>
    </message>
    <message>
      <source>Microphone off: the other side hears silence</source>
      <translation>麦克风已关闭：对方听不到声音</translation>
    </message>
    <message>
      <source>Mute</source>
      <translation>静音</translation>
    </message>
    <message>
      <source>No call. Open a consult to join its call.</source>
      <translation>当前无通话。打开一个会诊即可加入其通话。</translation>
    </message>
    <message>
      <source>No camera found</source>
      <translation>未找到摄像头</translation>
    </message>
    <message>
      <source>No video</source>
      <translation>无视频</translation>
    </message>
    <message>
      <source>Packet loss: %1 % received, %2 % sent</source>
      <translation>丢包率：接收 %1 %，发送 %2 %</translation>
    </message>
    <message>
      <source>Poor</source>
      <translation>较差</translation>
    </message>
    <message>
      <source>Ready to call: %1</source>
      <translation>可以呼叫：%1</translation>
    </message>
    <message>
      <source>Resolution: %1</source>
      <translation>分辨率：%1</translation>
    </message>
    <message>
      <source>Round-trip time: %1 ms</source>
      <translation>往返时延：%1 ms</translation>
    </message>
    <message>
      <source>Send video from</source>
      <translation>视频来源</translation>
    </message>
    <message>
      <source>Send video from another camera, a capture device or a file</source>
      <translation>从其他摄像头、采集设备或文件发送视频</translation>
    </message>
    <message>
      <source>Simulated ultrasound</source>
      <translation>模拟超声</translation>
    </message>
    <message>
      <source>Source</source>
      <translation>来源</translation>
    </message>
    <message>
      <source>Stop or resume sending video</source>
      <translation>停止或恢复发送视频</translation>
    </message>
    <message>
      <source>Test pattern</source>
      <translation>测试图案</translation>
    </message>
    <message>
      <source>The workstation is locked</source>
      <translation>工作站已锁定</translation>
    </message>
    <message>
      <source>Turn the microphone off</source>
      <translation>关闭麦克风</translation>
    </message>
    <message>
      <source>Ultrasound guidance</source>
      <translation>超声引导</translation>
    </message>
    <message>
      <source>Unmute</source>
      <translation>取消静音</translation>
    </message>
    <message>
      <source>Video (*.mp4 *.mkv *.avi *.webm *.mov);;All files (*)</source>
      <translation>视频 (*.mp4 *.mkv *.avi *.webm *.mov);;所有文件 (*)</translation>
    </message>
    <message>
      <source>Video file or capture device...</source>
      <translation>视频文件或采集设备...</translation>
    </message>
    <message>
      <source>Video paused while the connection recovers</source>
      <translation>连接恢复期间视频暂停</translation>
    </message>
    <message>
      <source>Waiting for the other side's video...</source>
      <translation>正在等待对方视频...</translation>
    </message>
    <message>
      <source>You</source>
      <translation>本人</translation>
    </message>
    <message>
      <source>You cannot hear the other side here: %1</source>
      <translation>此处无法听到对方声音：%1</translation>
    </message>
  </context>
  <context>
    <name>Cardiology</name>
    <message>
      <source>12-lead ECG</source>
      <translation>12 导联心电图</translation>
    </message>
    <message>
      <source>12-lead measurements</source>
      <translation>12 导联测量</translation>
    </message>
    <message>
      <source>12-lead median beat</source>
      <translation>12 导联中位心搏</translation>
    </message>
    <message>
      <source>Atrial fibrillation?</source>
      <translation>心房颤动？</translation>
    </message>
    <message>
      <source>Bradycardia</source>
      <translation>心动过缓</translation>
    </message>
    <message>
      <source>ECG measurements</source>
      <translation>心电图测量</translation>
    </message>
    <message>
      <source>Frontal axis</source>
      <translation>额面电轴</translation>
    </message>
    <message>
      <source>Heart rate</source>
      <translation>心率</translation>
    </message>
    <message>
      <source>Irregular rhythm without P waves: atrial fibrillation?</source>
      <translation>节律不齐且无 P 波：心房颤动？</translation>
    </message>
    <message>
      <source>Long QTc</source>
      <translation>QTc 延长</translation>
    </message>
    <message>
      <source>Measured at %1 from the median of %2 beats.</source>
      <translation>于 %1 测量，取 %2 个心搏的中位数。</translation>
    </message>
    <message>
      <source>Measured on the median of %1 beats; ST at J+60 ms.</source>
      <translation>基于 %1 个心搏的中位心搏测量；ST 取 J 点后 60 ms。</translation>
    </message>
    <message>
      <source>Measurement</source>
      <translation>测量项</translation>
    </message>
    <message>
      <source>No rhythm flags</source>
      <translation>无节律提示</translation>
    </message>
    <message>
      <source>No rhythm flags.</source>
      <translation>无节律异常提示。</translation>
    </message>
    <message>
      <source>PR</source>
      <translation>PR</translation>
    </message>
    <message>
      <source>QRS</source>
      <translation>QRS</translation>
    </message>
    <message>
      <source>QT</source>
      <translation>QT</translation>
    </message>
    <message>
      <source>QTc Bazett</source>
      <translation>QTc Bazett</translation>
    </message>
    <message>
      <source>QTc Framingham</source>
      <translation>QTc Framingham</translation>
    </message>
    <message>
      <source>QTc Fridericia</source>
      <translation>QTc Fridericia</translation>
    </message>
    <message>
      <source>Rate, intervals and axis</source>
      <translation>心率、间期和电轴</translation>
    </message>
    <message>
      <source>Report section</source>
      <translation>报告部分</translation>
    </message>
    <message>
      <source>Rhythm</source>
      <translation>节律</translation>
    </message>
    <message>
      <source>ST deviation at J+60 ms (mV)</source>
      <translation>J+60 ms 处 ST 段偏移 (mV)</translation>
    </message>
    <message>
      <source>ST elevation</source>
      <translation>ST 段抬高</translation>
    </message>
    <message>
      <source>Tachycardia</source>
      <translation>心动过速</translation>
    </message>
    <message>
      <source>The report section appears with the first measurement.</source>
      <translation>首次测量后显示报告部分。</translation>
    </message>
    <message>
      <source>Value</source>
      <translation>数值</translation>
    </message>
    <message>
      <source>Waiting for an ECG: measurements need 10 s of signal with visible beats.</source>
      <translation>等待心电图：测量需要 10 s 可见心搏的信号。</translation>
    </message>
    <message>
      <source>anterior</source>
      <translation>前壁</translation>
    </message>
    <message>
      <source>inferior</source>
      <translation>下壁</translation>
    </message>
    <message>
      <source>lateral</source>
      <translation>侧壁</translation>
    </message>
    <message>
      <source>none</source>
      <translation>无</translation>
    </message>
    <message>
      <source>not measured</source>
      <translation>未测得</translation>
    </message>
  </context>
  <context>
    <name>CaseLibrary</name>
    <message>
      <source>&amp;Teaching</source>
      <translation>教学(&amp;T)</translation>
    </message>
    <message>
      <source>A de-identified copy of the recording for trainees: the patient pseudonymised in every track, imaging de-identified</source>
      <translation>供学员使用的录制去标识化副本：所有轨道中的患者均以假名显示，影像已去标识化</translation>
    </message>
    <message>
      <source>All specialties</source>
      <translation>所有专科</translation>
    </message>
    <message>
      <source>All tags</source>
      <translation>所有标签</translation>
    </message>
    <message>
      <source>Case library</source>
      <translation>病例库</translation>
    </message>
    <message>
      <source>Case library…</source>
      <translation>病例库…</translation>
    </message>
    <message>
      <source>Close</source>
      <translation>关闭</translation>
    </message>
    <message>
      <source>Date</source>
      <translation>日期</translation>
    </message>
    <message>
      <source>Duration</source>
      <translation>时长</translation>
    </message>
    <message>
      <source>Kind</source>
      <translation>类型</translation>
    </message>
    <message>
      <source>Make teaching file</source>
      <translation>生成教学病例</translation>
    </message>
    <message>
      <source>Making a de-identified teaching file…</source>
      <translation>正在生成去标识化教学病例…</translation>
    </message>
    <message>
      <source>No case matches the search.</source>
      <translation>没有符合搜索条件的病例。</translation>
    </message>
    <message>
      <source>Only de-identified teaching files are shown.</source>
      <translation>仅显示去标识化的教学病例。</translation>
    </message>
    <message>
      <source>Open</source>
      <translation>打开</translation>
    </message>
    <message>
      <source>Patient</source>
      <translation>患者</translation>
    </message>
    <message>
      <source>Recording</source>
      <translation>录制</translation>
    </message>
    <message>
      <source>Replay: %1</source>
      <translation>回放：%1</translation>
    </message>
    <message>
      <source>Search titles, tags and chapters</source>
      <translation>搜索标题、标签和章节</translation>
    </message>
    <message>
      <source>Specialty</source>
      <translation>专科</translation>
    </message>
    <message>
      <source>Teaching file</source>
      <translation>教学病例</translation>
    </message>
    <message>
      <source>Teaching file made: %1</source>
      <translation>已生成教学病例：%1</translation>
    </message>
    <message>
      <source>The case library is empty. Recorded consultations and teaching files appear here.</source>
      <translation>病例库为空。录制的会诊和教学病例将显示在此处。</translation>
    </message>
    <message>
      <source>The teaching file could not be made: %1</source>
      <translation>无法生成教学病例：%1</translation>
    </message>
    <message>
      <source>This case cannot be opened: %1</source>
      <translation>无法打开此病例：%1</translation>
    </message>
    <message>
      <source>Title</source>
      <translation>标题</translation>
    </message>
    <message>
      <source>Trainees may open de-identified teaching files only.</source>
      <translation>学员只能打开去标识化的教学病例。</translation>
    </message>
    <message>
      <source>Untitled recording</source>
      <translation>未命名录制</translation>
    </message>
  </context>
  <context>
    <name>ClassStrip</name>
    <message>
      <source>%1 added at %2</source>
      <translation>已在 %2 添加%1</translation>
    </message>
    <message>
      <source>Add chapter</source>
      <translation>添加章节</translation>
    </message>
    <message>
      <source>Cannot record: %1</source>
      <translation>无法录制：%1</translation>
    </message>
    <message>
      <source>Chapter %1</source>
      <translation>章节 %1</translation>
    </message>
    <message>
      <source>Class: %1 trainees following</source>
      <translation>课堂：%1 名学员正在跟随</translation>
    </message>
    <message>
      <source>Class: 1 trainee following</source>
      <translation>课堂：1 名学员正在跟随</translation>
    </message>
    <message>
      <source>Class: no trainees following</source>
      <translation>课堂：暂无学员跟随</translation>
    </message>
    <message>
      <source>Connecting...</source>
      <translation>正在连接…</translation>
    </message>
    <message>
      <source>Drive the bedside's vitals simulator</source>
      <translation>控制床旁的生命体征模拟器</translation>
    </message>
    <message>
      <source>Hand over annotation</source>
      <translation>移交标注工具</translation>
    </message>
    <message>
      <source>Hand over pointer</source>
      <translation>移交指针</translation>
    </message>
    <message>
      <source>Mark this moment in the recording</source>
      <translation>在录制中标记此刻</translation>
    </message>
    <message>
      <source>Not in a call: the scenario was not sent.</source>
      <translation>未在通话中：未发送场景。</translation>
    </message>
    <message>
      <source>Not in a call: there is nothing to record.</source>
      <translation>未在通话中：没有可录制的内容。</translation>
    </message>
    <message>
      <source>Record</source>
      <translation>录制</translation>
    </message>
    <message>
      <source>Record the video, audio, annotations, vitals and views for the case library</source>
      <translation>为病例库录制视频、音频、标注、生命体征和视图</translation>
    </message>
    <message>
      <source>Recording saved: %1</source>
      <translation>录制已保存：%1</translation>
    </message>
    <message>
      <source>Scenario</source>
      <translation>场景</translation>
    </message>
    <message>
      <source>Stop recording</source>
      <translation>停止录制</translation>
    </message>
    <message>
      <source>Take back</source>
      <translation>收回</translation>
    </message>
    <message>
      <source>The bedside refused: %1</source>
      <translation>床旁端拒绝：%1</translation>
    </message>
    <message>
      <source>This session is being recorded</source>
      <translation>本次会诊正在录制</translation>
    </message>
    <message>
      <source>Watching</source>
      <translation>观看中</translation>
    </message>
    <message>
      <source>has the annotation tools</source>
      <translation>持有标注工具</translation>
    </message>
    <message>
      <source>has the pointer</source>
      <translation>持有指针</translation>
    </message>
    <message>
      <source>view only</source>
      <translation>仅观看</translation>
    </message>
    <message>
      <source>● REC</source>
      <translation>● 录制中</translation>
    </message>
    <message>
      <source>● REC %1</source>
      <translation>● 录制中 %1</translation>
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
    <name>DeviceSettings</name>
    <message>
      <source>%1 (not connected)</source>
      <translation>%1（未连接）</translation>
    </message>
    <message>
      <source>Camera:</source>
      <translation>摄像头：</translation>
    </message>
    <message>
      <source>List the cameras and microphones again</source>
      <translation>重新列出摄像头和麦克风</translation>
    </message>
    <message>
      <source>Look again</source>
      <translation>重新查找</translation>
    </message>
    <message>
      <source>Microphone:</source>
      <translation>麦克风：</translation>
    </message>
    <message>
      <source>No camera found</source>
      <translation>未找到摄像头</translation>
    </message>
    <message>
      <source>No microphone found</source>
      <translation>未找到麦克风</translation>
    </message>
    <message>
      <source>Test pattern (no camera)</source>
      <translation>测试图案（无摄像头）</translation>
    </message>
    <message>
      <source>Test tone (no microphone)</source>
      <translation>测试音（无麦克风）</translation>
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
    <name>ImagingContext</name>
    <message>
      <source>A consult is open now: the study opened outside it was closed.</source>
      <translation>现已打开会诊：在会诊之外打开的检查已关闭。</translation>
    </message>
    <message>
      <source>A consult is open.</source>
      <translation>已打开一个会诊。</translation>
    </message>
    <message>
      <source>Another consult is open: the previous study was closed.</source>
      <translation>已打开另一个会诊：之前的检查已关闭。</translation>
    </message>
    <message>
      <source>Another patient is in context: the study was closed.</source>
      <translation>当前已换为另一位患者：检查已关闭。</translation>
    </message>
    <message>
      <source>Consult patient: %1 (ID %2)</source>
      <translation>会诊患者：%1（ID %2）</translation>
    </message>
    <message>
      <source>Images of %1 other patient(s) in these files were not opened.</source>
      <translation>这些文件中另外 %1 位患者的图像未被打开。</translation>
    </message>
    <message>
      <source>Linked study: identity differs from the consult's patient</source>
      <translation>已关联的检查：身份与会诊患者不同</translation>
    </message>
    <message>
      <source>Linked to the consult's patient: the identities differ.</source>
      <translation>已关联到会诊患者：两者身份不同。</translation>
    </message>
    <message>
      <source>No consult is open: a study opened here is not checked against a patient.</source>
      <translation>未打开会诊：此处打开的检查不会与患者核对。</translation>
    </message>
    <message>
      <source>No consult is open: this study is not linked to a patient.</source>
      <translation>未打开会诊：该检查未关联到任何患者。</translation>
    </message>
    <message>
      <source>Recording the link in the audit log…</source>
      <translation>正在将关联记录到审计日志…</translation>
    </message>
    <message>
      <source>Signed out: the study was closed and nothing of it is kept.</source>
      <translation>已退出登录：检查已关闭，未保留任何内容。</translation>
    </message>
    <message>
      <source>The consult ended: its study was closed.</source>
      <translation>会诊已结束：其检查已关闭。</translation>
    </message>
    <message>
      <source>The link was not recorded (%1); the study stays closed.</source>
      <translation>关联未能记录（%1）；检查保持关闭。</translation>
    </message>
    <message>
      <source>The study shown is another identity, linked with a reason.</source>
      <translation>所示检查属于另一身份，已注明理由并关联。</translation>
    </message>
    <message>
      <source>The study shown is this patient's.</source>
      <translation>所示检查属于该患者。</translation>
    </message>
    <message>
      <source>The study was not opened.</source>
      <translation>检查未打开。</translation>
    </message>
    <message>
      <source>The workstation locked: the study was closed.</source>
      <translation>工作站已锁定：检查已关闭。</translation>
    </message>
  </context>
  <context>
    <name>Leaving</name>
    <message>
      <source>Leave the emergency?</source>
      <translation>要离开这个急诊会诊吗？</translation>
    </message>
    <message>
      <source>This is an emergency consult and the monitor has %1 active alarm(s), the highest of %2 priority.</source>
      <translation>这是急诊会诊，监护仪有 %1 个活动报警，最高为%2优先级。</translation>
    </message>
    <message>
      <source>high</source>
      <translation>高</translation>
    </message>
    <message>
      <source>low</source>
      <translation>低</translation>
    </message>
    <message>
      <source>medium</source>
      <translation>中</translation>
    </message>
  </context>
  <context>
    <name>LockScreen</name>
    <message>
      <source>%1 - locked after %2 minutes without activity. Enter your password to continue.</source>
      <translation>%1 - 无操作 %2 分钟后已锁定。请输入密码继续。</translation>
    </message>
    <message>
      <source>%1 locked the workstation. Enter your password to continue.</source>
      <translation>%1 锁定了工作站。请输入密码继续。</translation>
    </message>
    <message>
      <source>Alarm active (%1, %2 in all): unlock to see it.</source>
      <translation>有活动报警（%1，共 %2 个）：请解锁查看。</translation>
    </message>
    <message>
      <source>HIGH priority</source>
      <translation>高优先级</translation>
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
    <message>
      <source>low priority</source>
      <translation>低优先级</translation>
    </message>
    <message>
      <source>medium priority</source>
      <translation>中优先级</translation>
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
      <source>No user accounts</source>
      <translation>没有用户账户</translation>
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
      <source>Quit anyway?</source>
      <translation>仍要退出吗？</translation>
    </message>
    <message>
      <source>Requests appear here when the workstation is connected to the backend.</source>
      <translation>工作站连接到后端后，会诊请求将在此显示。</translation>
    </message>
    <message>
      <source>Sign in as IT administrator to manage accounts.</source>
      <translation>以 IT 管理员身份登录以管理账户。</translation>
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
      <source>User accounts</source>
      <translation>用户账户</translation>
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
    <name>Measurement</name>
    <message>
      <source> (at the detector)</source>
      <translation>（在探测器处测量）</translation>
    </message>
    <message>
      <source> (calibrated)</source>
      <translation>（已校准）</translation>
    </message>
    <message>
      <source> (calibration not stated)</source>
      <translation>（未说明校准方式）</translation>
    </message>
    <message>
      <source>%1 %2</source>
      <translation>%1 %2</translation>
    </message>
    <message>
      <source>%1°</source>
      <translation>%1°</translation>
    </message>
    <message>
      <source>, not calibrated</source>
      <translation>，未校准</translation>
    </message>
    <message>
      <source>Area %1 %2</source>
      <translation>面积 %1 %2</translation>
    </message>
    <message>
      <source>Calibrated (%1)</source>
      <translation>已校准（%1）</translation>
    </message>
    <message>
      <source>Calibrated (Pixel Spacing)</source>
      <translation>已校准（像素间距）</translation>
    </message>
    <message>
      <source>Measured at the detector (Imager Pixel Spacing)</source>
      <translation>在探测器处测量（成像器像素间距）</translation>
    </message>
    <message>
      <source>Not measured: %1</source>
      <translation>未测量：%1</translation>
    </message>
    <message>
      <source>Pixel Spacing, calibration not stated</source>
      <translation>像素间距，未说明校准方式</translation>
    </message>
    <message>
      <source>Ultrasound regions: %1</source>
      <translation>超声区域：%1</translation>
    </message>
    <message>
      <source>outside the calibrated ultrasound regions</source>
      <translation>位于已校准的超声区域之外</translation>
    </message>
    <message>
      <source>px, not calibrated</source>
      <translation>px，未校准</translation>
    </message>
    <message>
      <source>the points lie in different ultrasound regions</source>
      <translation>各点位于不同的超声区域</translation>
    </message>
    <message>
      <source>this ultrasound region is not calibrated in length</source>
      <translation>该超声区域未按长度校准</translation>
    </message>
    <message>
      <source>Δx %1 %2, Δy %3 %4</source>
      <translation>Δx %1 %2，Δy %3 %4</translation>
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
    <name>Oncology</name>
    <message>
      <source>%1 (mm)</source>
      <translation>%1（mm）</translation>
    </message>
    <message>
      <source>%1: longest diameter %2 mm &lt; 10 mm is not measurable.</source>
      <translation>%1：最长径 %2 mm &lt; 10 mm，不可测量。</translation>
    </message>
    <message>
      <source>%1: no baseline measurement.</source>
      <translation>%1：无基线测量值。</translation>
    </message>
    <message>
      <source>%1: node short axis %2 mm &lt; 15 mm is not measurable.</source>
      <translation>%1：淋巴结短径 %2 mm &lt; 15 mm，不可测量。</translation>
    </message>
    <message>
      <source>%2 % above the nadir but only %3 mm (&lt; 5 mm)</source>
      <translation>较最低值增加 %2 %，但仅 %3 mm (&lt; 5 mm)</translation>
    </message>
    <message>
      <source>%2 target lesions in %1: at most 2 per organ.</source>
      <translation>%1 有 %2 个靶病灶：每个器官最多 2 个。</translation>
    </message>
    <message>
      <source>%2 target lesions: at most 5.</source>
      <translation>%2 个靶病灶：最多 5 个。</translation>
    </message>
    <message>
      <source>Add lesion</source>
      <translation>添加病灶</translation>
    </message>
    <message>
      <source>Awaiting follow-up measurements</source>
      <translation>等待随访测量</translation>
    </message>
    <message>
      <source>Baseline</source>
      <translation>基线</translation>
    </message>
    <message>
      <source>Baseline mm</source>
      <translation>基线 mm</translation>
    </message>
    <message>
      <source>Baseline study (date)</source>
      <translation>基线检查(日期)</translation>
    </message>
    <message>
      <source>Baseline:</source>
      <translation>基线：</translation>
    </message>
    <message>
      <source>Change from baseline</source>
      <translation>较基线变化</translation>
    </message>
    <message>
      <source>Change from nadir</source>
      <translation>较最低值变化</translation>
    </message>
    <message>
      <source>Complete response (CR)</source>
      <translation>完全缓解(CR)</translation>
    </message>
    <message>
      <source>Enter every target lesion's baseline diameter.</source>
      <translation>请输入每个靶病灶的基线径线。</translation>
    </message>
    <message>
      <source>Follow-up</source>
      <translation>随访</translation>
    </message>
    <message>
      <source>Follow-up mm</source>
      <translation>随访 mm</translation>
    </message>
    <message>
      <source>Follow-up study (date)</source>
      <translation>随访检查(日期)</translation>
    </message>
    <message>
      <source>Follow-up:</source>
      <translation>随访：</translation>
    </message>
    <message>
      <source>Lesion</source>
      <translation>病灶</translation>
    </message>
    <message>
      <source>Lesion name %1 is used %2 times.</source>
      <translation>病灶名称 %1 被使用了 %2 次。</translation>
    </message>
    <message>
      <source>Measured</source>
      <translation>测量方式</translation>
    </message>
    <message>
      <source>New lesion(s) at follow-up</source>
      <translation>随访出现新病灶</translation>
    </message>
    <message>
      <source>No measurement in the imaging view yet.</source>
      <translation>影像视图中尚无测量。</translation>
    </message>
    <message>
      <source>No target lesions.</source>
      <translation>无靶病灶。</translation>
    </message>
    <message>
      <source>Node</source>
      <translation>淋巴结</translation>
    </message>
    <message>
      <source>Organ</source>
      <translation>器官</translation>
    </message>
    <message>
      <source>Partial response (PR)</source>
      <translation>部分缓解(PR)</translation>
    </message>
    <message>
      <source>Progressive disease (PD)</source>
      <translation>疾病进展(PD)</translation>
    </message>
    <message>
      <source>Put the newest length measured in the imaging view into the selected cell.</source>
      <translation>将影像视图中最新的长度测量值填入所选单元格。</translation>
    </message>
    <message>
      <source>RECIST 1.1</source>
      <translation>RECIST 1.1</translation>
    </message>
    <message>
      <source>RECIST 1.1, longest diameter</source>
      <translation>RECIST 1.1，最长径</translation>
    </message>
    <message>
      <source>RECIST 1.1, node short axis</source>
      <translation>RECIST 1.1，淋巴结短轴</translation>
    </message>
    <message>
      <source>RECIST 1.1, sum of diameters</source>
      <translation>RECIST 1.1，径线总和</translation>
    </message>
    <message>
      <source>RECIST diameter</source>
      <translation>RECIST 径线</translation>
    </message>
    <message>
      <source>Remove lesion</source>
      <translation>删除病灶</translation>
    </message>
    <message>
      <source>Response</source>
      <translation>疗效</translation>
    </message>
    <message>
      <source>Response not evaluable: a target lesion was not measured.</source>
      <translation>疗效无法评估：有靶病灶未测量。</translation>
    </message>
    <message>
      <source>Select a baseline or follow-up cell first.</source>
      <translation>请先选择基线或随访单元格。</translation>
    </message>
    <message>
      <source>Stable disease (SD)</source>
      <translation>疾病稳定(SD)</translation>
    </message>
    <message>
      <source>Sum of diameters</source>
      <translation>径线总和</translation>
    </message>
    <message>
      <source>Sum of diameters: baseline %1 mm, follow-up %2 mm (%3 %), nadir %4 mm.</source>
      <translation>径线总和：基线 %1 mm，随访 %2 mm (%3 %)，最低值 %4 mm。</translation>
    </message>
    <message>
      <source>Sum of diameters: baseline %1 mm.</source>
      <translation>径线总和：基线 %1 mm。</translation>
    </message>
    <message>
      <source>Tumour response (RECIST 1.1)</source>
      <translation>肿瘤疗效评价(RECIST 1.1)</translation>
    </message>
    <message>
      <source>Unequivocal progression of non-target lesions</source>
      <translation>非靶病灶明确进展</translation>
    </message>
    <message>
      <source>Use last measurement</source>
      <translation>使用最近测量值</translation>
    </message>
    <message>
      <source>all target lesions gone, nodes &lt; 10 mm short axis</source>
      <translation>所有靶病灶消失，淋巴结短径 &lt; 10 mm</translation>
    </message>
    <message>
      <source>baseline</source>
      <translation>基线</translation>
    </message>
    <message>
      <source>longest diameter</source>
      <translation>最长径</translation>
    </message>
    <message>
      <source>neither 30 % smaller than baseline nor 20 % and 5 mm above the nadir</source>
      <translation>既未较基线缩小 30 %，也未较最低值增加 20 % 且 5 mm</translation>
    </message>
    <message>
      <source>new lesion(s)</source>
      <translation>新病灶</translation>
    </message>
    <message>
      <source>node, short axis</source>
      <translation>淋巴结，短轴</translation>
    </message>
    <message>
      <source>not measured</source>
      <translation>未测量</translation>
    </message>
    <message>
      <source>sum %1 mm is %2 % and %3 mm above the nadir</source>
      <translation>总和 %1 mm，较最低值增加 %2 % 及 %3 mm</translation>
    </message>
    <message>
      <source>sum %4 % from baseline</source>
      <translation>总和较基线变化 %4 %</translation>
    </message>
    <message>
      <source>unequivocal progression of non-target lesions</source>
      <translation>非靶病灶明确进展</translation>
    </message>
  </context>
  <context>
    <name>PacsDialog</name>
    <message>
      <source>%1 studies found.</source>
      <translation>找到 %1 个检查。</translation>
    </message>
    <message>
      <source>Any</source>
      <translation>任意</translation>
    </message>
    <message>
      <source>Cancel retrieve</source>
      <translation>取消获取</translation>
    </message>
    <message>
      <source>Cancelling…</source>
      <translation>正在取消…</translation>
    </message>
    <message>
      <source>Close</source>
      <translation>关闭</translation>
    </message>
    <message>
      <source>Date</source>
      <translation>日期</translation>
    </message>
    <message>
      <source>Dates must be written YYYYMMDD, e.g. 20260131.</source>
      <translation>日期格式须为 YYYYMMDD，例如 20260131。</translation>
    </message>
    <message>
      <source>Description</source>
      <translation>描述</translation>
    </message>
    <message>
      <source>Enter search terms and press Search.</source>
      <translation>输入检索条件后点击“检索”。</translation>
    </message>
    <message>
      <source>Family name, or a pattern with *</source>
      <translation>姓氏，或含 * 的通配模式</translation>
    </message>
    <message>
      <source>ID</source>
      <translation>ID</translation>
    </message>
    <message>
      <source>Images</source>
      <translation>图像</translation>
    </message>
    <message>
      <source>Modality</source>
      <translation>模态</translation>
    </message>
    <message>
      <source>No PACS is configured. Ask IT to add one to the site file.</source>
      <translation>尚未配置 PACS。请联系 IT 部门在站点配置文件中添加。</translation>
    </message>
    <message>
      <source>No study matches.</source>
      <translation>没有匹配的检查。</translation>
    </message>
    <message>
      <source>PACS</source>
      <translation>PACS</translation>
    </message>
    <message>
      <source>Patient</source>
      <translation>患者</translation>
    </message>
    <message>
      <source>Patient ID</source>
      <translation>患者 ID</translation>
    </message>
    <message>
      <source>Patient name</source>
      <translation>患者姓名</translation>
    </message>
    <message>
      <source>Retrieve</source>
      <translation>获取</translation>
    </message>
    <message>
      <source>Retrieve cancelled.</source>
      <translation>已取消获取。</translation>
    </message>
    <message>
      <source>Retrieve failed: %1</source>
      <translation>获取失败：%1</translation>
    </message>
    <message>
      <source>Retrieved %1 images into %2.</source>
      <translation>已获取 %1 幅图像到 %2。</translation>
    </message>
    <message>
      <source>Retrieving…</source>
      <translation>正在获取…</translation>
    </message>
    <message>
      <source>Retrieving… %1 of %2 images</source>
      <translation>正在获取… 第 %1 / %2 幅图像</translation>
    </message>
    <message>
      <source>Search</source>
      <translation>检索</translation>
    </message>
    <message>
      <source>Search PACS</source>
      <translation>检索 PACS</translation>
    </message>
    <message>
      <source>Search failed: %1</source>
      <translation>检索失败：%1</translation>
    </message>
    <message>
      <source>Searching…</source>
      <translation>正在检索…</translation>
    </message>
    <message>
      <source>Series</source>
      <translation>序列</translation>
    </message>
    <message>
      <source>Series %1</source>
      <translation>序列 %1</translation>
    </message>
    <message>
      <source>Series search failed: %1</source>
      <translation>序列检索失败：%1</translation>
    </message>
    <message>
      <source>Study date</source>
      <translation>检查日期</translation>
    </message>
    <message>
      <source>YYYYMMDD</source>
      <translation>YYYYMMDD</translation>
    </message>
    <message>
      <source>to</source>
      <translation>至</translation>
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
    <name>PluginManager</name>
    <message>
      <source>Active</source>
      <translation>已激活</translation>
    </message>
    <message>
      <source>Built-in</source>
      <translation>内置</translation>
    </message>
    <message>
      <source>Denied by site</source>
      <translation>站点已禁止</translation>
    </message>
    <message>
      <source>Disabled</source>
      <translation>已禁用</translation>
    </message>
    <message>
      <source>Dismiss</source>
      <translation>关闭</translation>
    </message>
    <message>
      <source>Failed</source>
      <translation>失败</translation>
    </message>
    <message>
      <source>Not for this role</source>
      <translation>不适用于此角色</translation>
    </message>
    <message>
      <source>Not loaded: the site configuration denies it.</source>
      <translation>未加载：站点配置禁止此插件。</translation>
    </message>
    <message>
      <source>On</source>
      <translation>启用</translation>
    </message>
    <message>
      <source>Plugin</source>
      <translation>插件</translation>
    </message>
    <message>
      <source>Plugin '%1' was disabled: %2</source>
      <translation>插件“%1”已被禁用：%2</translation>
    </message>
    <message>
      <source>Plugin API %1. IT allows or denies plugins in the site configuration.</source>
      <translation>插件 API %1。IT 部门在站点配置中允许或禁止插件。</translation>
    </message>
    <message>
      <source>Reason</source>
      <translation>原因</translation>
    </message>
    <message>
      <source>Serves other roles.</source>
      <translation>供其他角色使用。</translation>
    </message>
    <message>
      <source>Source</source>
      <translation>来源</translation>
    </message>
    <message>
      <source>Specialties: %1
Roles: %2
Needs: %3
API: %4</source>
      <translation>专科：%1
角色：%2
依赖：%3
API：%4</translation>
    </message>
    <message>
      <source>State</source>
      <translation>状态</translation>
    </message>
    <message>
      <source>Third-party</source>
      <translation>第三方</translation>
    </message>
    <message>
      <source>Version</source>
      <translation>版本</translation>
    </message>
    <message>
      <source>analyser failed: %1</source>
      <translation>分析器失败：%1</translation>
    </message>
    <message>
      <source>could not be imported: %1</source>
      <translation>无法导入：%1</translation>
    </message>
    <message>
      <source>failed: %1</source>
      <translation>失败：%1</translation>
    </message>
    <message>
      <source>has an invalid manifest: %1</source>
      <translation>清单无效：%1</translation>
    </message>
    <message>
      <source>is installed twice: %1</source>
      <translation>重复安装：%1</translation>
    </message>
    <message>
      <source>needs another plugin API version: %1</source>
      <translation>需要其他版本的插件 API：%1</translation>
    </message>
    <message>
      <source>was too slow: %1</source>
      <translation>运行过慢：%1</translation>
    </message>
  </context>
  <context>
    <name>Plugins</name>
    <message>
      <source>&amp;Plugins</source>
      <translation>插件(&amp;P)</translation>
    </message>
    <message>
      <source>Consult %1</source>
      <translation>会诊 %1</translation>
    </message>
    <message>
      <source>Consult %1 · patient %2</source>
      <translation>会诊 %1 · 患者 %2</translation>
    </message>
    <message>
      <source>Installed</source>
      <translation>已安装</translation>
    </message>
    <message>
      <source>No consult open</source>
      <translation>未打开会诊</translation>
    </message>
    <message>
      <source>Patient %1</source>
      <translation>患者 %1</translation>
    </message>
    <message>
      <source>Plugin manager</source>
      <translation>插件管理器</translation>
    </message>
  </context>
  <context>
    <name>QtAlarmBanner</name>
    <message>
      <source>%1 — ended at %2, acknowledge to clear</source>
      <translation>%1 — 已于 %2 结束，确认后清除</translation>
    </message>
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
      <source>Feed for another patient: %1</source>
      <translation>另一位患者的数据流：%1</translation>
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
      <source>No data from the bedside for %1 s</source>
      <translation>床旁已 %1 秒无数据</translation>
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
      <translation type="vanished">生命体征数据延迟</translation>
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
      <source>⚠ No alarm sound</source>
      <translation>⚠ 无报警声音</translation>
    </message>
    <message>
      <source>⚠ No alarm sound on this workstation</source>
      <translation type="vanished">⚠ 本工作站无法发出报警声音</translation>
    </message>
  </context>
  <context>
    <name>QtAnnotationOverlay</name>
    <message>
      <source>%1 mm</source>
      <translation>%1 mm</translation>
    </message>
    <message>
      <source>Entry %1 mm from this slice: click the target</source>
      <translation>入针点距本层面 %1 mm：请单击靶点</translation>
    </message>
    <message>
      <source>Entry: click the target</source>
      <translation>已设入针点：请单击靶点</translation>
    </message>
    <message>
      <source>Here: depth %1 mm, %2 mm to target</source>
      <translation>此处：深度 %1 mm，距靶点 %2 mm</translation>
    </message>
    <message>
      <source>Label</source>
      <translation>标签</translation>
    </message>
    <message>
      <source>Plane</source>
      <translation>平面</translation>
    </message>
    <message>
      <source>Text of the label:</source>
      <translation>标签文字：</translation>
    </message>
    <message>
      <source>Trajectory %1 mm, %2° to axial</source>
      <translation>穿刺轨迹 %1 mm，与轴位夹角 %2°</translation>
    </message>
  </context>
  <context>
    <name>QtImagingPanel</name>
    <message>
      <source>%1 file(s) could not be used; see the list.</source>
      <translation>%1 个文件无法使用，请查看列表。</translation>
    </message>
    <message>
      <source>%1: %2 images (%3)</source>
      <translation>%1：%2 幅图像(%3)</translation>
    </message>
    <message>
      <source>2D</source>
      <translation>2D</translation>
    </message>
    <message>
      <source>3D</source>
      <translation>3D</translation>
    </message>
    <message>
      <source>Angle</source>
      <translation>角度</translation>
    </message>
    <message>
      <source>CT bone</source>
      <translation>CT 骨窗</translation>
    </message>
    <message>
      <source>CT soft tissue</source>
      <translation>CT 软组织窗</translation>
    </message>
    <message>
      <source>Cancel</source>
      <translation>取消</translation>
    </message>
    <message>
      <source>Clear</source>
      <translation>清除</translation>
    </message>
    <message>
      <source>De-identified copy written: %1 file(s), %2 skipped.</source>
      <translation>已写入去标识化副本：%1 个文件，跳过 %2 个。</translation>
    </message>
    <message>
      <source>De-identifying the study for teaching…</source>
      <translation>正在为教学去标识化检查…</translation>
    </message>
    <message>
      <source>Distance</source>
      <translation>距离</translation>
    </message>
    <message>
      <source>Ellipse ROI</source>
      <translation>椭圆 ROI</translation>
    </message>
    <message>
      <source>Export de-identified copy…</source>
      <translation>导出去标识化副本…</translation>
    </message>
    <message>
      <source>Export failed: %1</source>
      <translation>导出失败：%1</translation>
    </message>
    <message>
      <source>Folder for the de-identified copy</source>
      <translation>去标识化副本的文件夹</translation>
    </message>
    <message>
      <source>From PACS…</source>
      <translation>从 PACS 获取…</translation>
    </message>
    <message>
      <source>Isosurface</source>
      <translation>等值面</translation>
    </message>
    <message>
      <source>Label</source>
      <translation>标签</translation>
    </message>
    <message>
      <source>Landmark</source>
      <translation>标志点</translation>
    </message>
    <message>
      <source>Loading cancelled.</source>
      <translation>已取消加载。</translation>
    </message>
    <message>
      <source>Loading failed: %1</source>
      <translation>加载失败：%1</translation>
    </message>
    <message>
      <source>Loading images…</source>
      <translation>正在加载图像…</translation>
    </message>
    <message>
      <source>MIP</source>
      <translation>MIP</translation>
    </message>
    <message>
      <source>MPR</source>
      <translation>MPR</translation>
    </message>
    <message>
      <source>Navigate</source>
      <translation>浏览</translation>
    </message>
    <message>
      <source>No DICOM images found.</source>
      <translation>未找到 DICOM 图像。</translation>
    </message>
    <message>
      <source>No study open. Open a folder, drop DICOM files here, or retrieve from PACS.</source>
      <translation>未打开检查。请打开文件夹、将 DICOM 文件拖放到此处，或从 PACS 获取。</translation>
    </message>
    <message>
      <source>No study open. The consult's study appears here, de-identified.</source>
      <translation>未打开检查。会诊的检查将以去标识化形式显示在此处。</translation>
    </message>
    <message>
      <source>Open a folder of DICOM files</source>
      <translation>打开 DICOM 文件所在文件夹</translation>
    </message>
    <message>
      <source>Open a folder of DICOM files (or drop it here)</source>
      <translation>打开 DICOM 文件所在文件夹(或拖放到此处)</translation>
    </message>
    <message>
      <source>Open folder…</source>
      <translation>打开文件夹…</translation>
    </message>
    <message>
      <source>Plane</source>
      <translation>平面</translation>
    </message>
    <message>
      <source>Play</source>
      <translation>播放</translation>
    </message>
    <message>
      <source>Polygon ROI</source>
      <translation>多边形 ROI</translation>
    </message>
    <message>
      <source>Preparing the demo CT study…</source>
      <translation>正在准备演示 CT 检查…</translation>
    </message>
    <message>
      <source>Reading DICOM headers…</source>
      <translation>正在读取 DICOM 头信息…</translation>
    </message>
    <message>
      <source>Remove all measurements</source>
      <translation>删除所有测量</translation>
    </message>
    <message>
      <source>Rendering</source>
      <translation>渲染</translation>
    </message>
    <message>
      <source>Retrieving the consult's study…</source>
      <translation>正在获取会诊的检查…</translation>
    </message>
    <message>
      <source>Series</source>
      <translation>序列</translation>
    </message>
    <message>
      <source>The consult's study is not available here.</source>
      <translation>此处无法获取该会诊的检查。</translation>
    </message>
    <message>
      <source>The study could not be retrieved: %1</source>
      <translation>无法获取检查：%1</translation>
    </message>
    <message>
      <source>Trajectory</source>
      <translation>穿刺轨迹</translation>
    </message>
    <message>
      <source>Window</source>
      <translation>窗</translation>
    </message>
    <message>
      <source>Writing the de-identified copy…</source>
      <translation>正在写入去标识化副本…</translation>
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
    <name>QtMprView</name>
    <message>
      <source>Crosshair (LPS): %1, %2, %3 mm</source>
      <translation>十字线 (LPS)：%1, %2, %3 mm</translation>
    </message>
    <message>
      <source>MPR: click or drag in a view to move the crosshair.</source>
      <translation>MPR：在视图中单击或拖动以移动十字线。</translation>
    </message>
    <message>
      <source>Value: %1</source>
      <translation>值：%1</translation>
    </message>
  </context>
  <context>
    <name>QtSliceView</name>
    <message>
      <source>%1 mm</source>
      <translation type="vanished">%1 mm</translation>
    </message>
    <message>
      <source>%1 mm/px</source>
      <translation>%1 mm/px</translation>
    </message>
    <message>
      <source>%1°</source>
      <translation type="vanished">%1°</translation>
    </message>
    <message>
      <source>Area %1 mm²</source>
      <translation type="vanished">面积 %1 mm²</translation>
    </message>
    <message>
      <source>Auto (MR)</source>
      <translation>自动 (MR)</translation>
    </message>
    <message>
      <source>Axial</source>
      <translation>轴位</translation>
    </message>
    <message>
      <source>CT bone</source>
      <translation>CT 骨窗</translation>
    </message>
    <message>
      <source>CT brain</source>
      <translation>CT 脑窗</translation>
    </message>
    <message>
      <source>CT lung</source>
      <translation>CT 肺窗</translation>
    </message>
    <message>
      <source>CT soft tissue</source>
      <translation>CT 软组织窗</translation>
    </message>
    <message>
      <source>Cine</source>
      <translation>电影</translation>
    </message>
    <message>
      <source>Coronal</source>
      <translation>冠状位</translation>
    </message>
    <message>
      <source>Frame %1 / %2</source>
      <translation>帧 %1 / %2</translation>
    </message>
    <message>
      <source>Mean %1 SD %2%3</source>
      <translation>均值 %1 标准差 %2%3</translation>
    </message>
    <message>
      <source>Min %1 Max %2</source>
      <translation>最小 %1 最大 %2</translation>
    </message>
    <message>
      <source>No image</source>
      <translation>无图像</translation>
    </message>
    <message>
      <source>Sagittal</source>
      <translation>矢状位</translation>
    </message>
    <message>
      <source>Slice %1 / %2</source>
      <translation>层 %1 / %2</translation>
    </message>
    <message>
      <source>W %1 L %2</source>
      <translation>W %1 L %2</translation>
    </message>
    <message>
      <source>Zoom %1%</source>
      <translation>缩放 %1%</translation>
    </message>
  </context>
  <context>
    <name>QtStudyBrowser</name>
    <message>
      <source>%1 (%2 frames)</source>
      <translation>%1 (%2 帧)</translation>
    </message>
    <message>
      <source>(no name)</source>
      <translation>(无名称)</translation>
    </message>
    <message>
      <source>Files not loaded (%1)</source>
      <translation>未加载的文件 (%1)</translation>
    </message>
    <message>
      <source>Images</source>
      <translation>图像</translation>
    </message>
    <message>
      <source>Patient %1</source>
      <translation>患者 %1</translation>
    </message>
    <message>
      <source>Series %1</source>
      <translation>序列 %1</translation>
    </message>
    <message>
      <source>Study</source>
      <translation>检查</translation>
    </message>
  </context>
  <context>
    <name>QtViewMirror</name>
    <message>
      <source>%1 follows you</source>
      <translation>%1 正在跟随您</translation>
    </message>
    <message>
      <source>Follow me</source>
      <translation>跟随我</translation>
    </message>
    <message>
      <source>Following %1</source>
      <translation>正在跟随 %1</translation>
    </message>
    <message>
      <source>Following the other site</source>
      <translation>正在跟随对方站点</translation>
    </message>
    <message>
      <source>Refused the other site's view: study %1 is not this consult's study.</source>
      <translation>已拒绝对方站点的视图：检查 %1 不是本次会诊的检查。</translation>
    </message>
    <message>
      <source>The other site does not have this series (%1).</source>
      <translation>对方站点没有此序列（%1）。</translation>
    </message>
    <message>
      <source>The other site follows you</source>
      <translation>对方站点正在跟随您</translation>
    </message>
    <message>
      <source>The other site follows your view; either of you can take over</source>
      <translation>对方站点正在跟随您的视图；任何一方均可接管</translation>
    </message>
    <message>
      <source>The other site refused this view: %1</source>
      <translation>对方站点拒绝了此视图：%1</translation>
    </message>
    <message>
      <source>This site does not have the series the other site shows (%1).</source>
      <translation>本站点没有对方站点显示的序列（%1）。</translation>
    </message>
    <message>
      <source>it is not the consult's study.</source>
      <translation>不是本次会诊的检查。</translation>
    </message>
    <message>
      <source>the message was not valid.</source>
      <translation>消息无效。</translation>
    </message>
  </context>
  <context>
    <name>QtVitalsPanel</name>
    <message>
      <source>%1 h ago</source>
      <translation>%1 小时前</translation>
    </message>
    <message>
      <source>%1 min ago</source>
      <translation>%1 分钟前</translation>
    </message>
    <message>
      <source>%1 s ago</source>
      <translation>%1 秒前</translation>
    </message>
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
      <source>Another consult opened: the previous vitals were cleared.</source>
      <translation>已打开另一会诊：先前的生命体征已清除。</translation>
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
      <source>Call ended at %1 — last values, not live</source>
      <translation>通话已于 %1 结束 — 最后数值，非实时</translation>
    </message>
    <message>
      <source>Consult closed: its vitals were cleared.</source>
      <translation>会诊已关闭：其生命体征已清除。</translation>
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
      <source>Live</source>
      <translation>实时</translation>
    </message>
    <message>
      <source>Locked: monitoring goes on</source>
      <translation>已锁定：监护继续进行</translation>
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
      <source>No consult open: no vitals shown.</source>
      <translation>未打开会诊：不显示生命体征。</translation>
    </message>
    <message>
      <source>No data from the bedside for %1 s — values not live</source>
      <translation>床旁已 %1 秒无数据 — 数值非实时</translation>
    </message>
    <message>
      <source>No data yet</source>
      <translation>尚无数据</translation>
    </message>
    <message>
      <source>No patient at this bed: open the patient's consult to monitor.</source>
      <translation>此床位无患者：打开该患者的会诊以开始监护。</translation>
    </message>
    <message>
      <source>No source</source>
      <translation>无信号源</translation>
    </message>
    <message>
      <source>No source: %1</source>
      <translation>无信号源：%1</translation>
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
      <source>Signed out: no patient data without a signed-in user.</source>
      <translation>已退出登录：无登录用户时不显示患者数据。</translation>
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
      <source>Vitals of %1 (ID %2)</source>
      <translation>%1 的生命体征（ID %2）</translation>
    </message>
    <message>
      <source>Waiting for data</source>
      <translation>等待数据</translation>
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
    <name>ReplayImaging</name>
    <message>
      <source>Imaging as the instructor saw it</source>
      <translation>带教老师当时看到的影像</translation>
    </message>
  </context>
  <context>
    <name>ReplayPlayer</name>
    <message>
      <source>%1 / %2</source>
      <translation>%1 / %2</translation>
    </message>
    <message>
      <source>%1 mm from the expert's target (score %2 %).</source>
      <translation>距专家目标 %1 mm（得分 %2%）。</translation>
    </message>
    <message>
      <source>%1 mm from the expert's target: well placed (score %2 %).</source>
      <translation>距专家目标 %1 mm：位置准确（得分 %2%）。</translation>
    </message>
    <message>
      <source>Add a pause point</source>
      <translation>添加暂停点</translation>
    </message>
    <message>
      <source>Add chapter</source>
      <translation>添加章节</translation>
    </message>
    <message>
      <source>Add pause point here</source>
      <translation>在此处添加暂停点</translation>
    </message>
    <message>
      <source>Answer</source>
      <translation>作答</translation>
    </message>
    <message>
      <source>Answer by</source>
      <translation>作答方式</translation>
    </message>
    <message>
      <source>Apnoea</source>
      <translation>呼吸暂停</translation>
    </message>
    <message>
      <source>Asystole</source>
      <translation>心搏停止</translation>
    </message>
    <message>
      <source>Atrial fibrillation</source>
      <translation>心房颤动</translation>
    </message>
    <message>
      <source>Blue: your answer. Green: the expert's target.</source>
      <translation>蓝色：您的答案。绿色：专家的目标。</translation>
    </message>
    <message>
      <source>Chapter at %1</source>
      <translation>%1 处的章节</translation>
    </message>
    <message>
      <source>Chapter title</source>
      <translation>章节标题</translation>
    </message>
    <message>
      <source>Chapter ▶</source>
      <translation>章节 ▶</translation>
    </message>
    <message>
      <source>Chapter: %1</source>
      <translation>章节：%1</translation>
    </message>
    <message>
      <source>Chat</source>
      <translation>聊天</translation>
    </message>
    <message>
      <source>Choose a rhythm first.</source>
      <translation>请先选择心律。</translation>
    </message>
    <message>
      <source>Choose the rhythm, then Answer.</source>
      <translation>选择心律，然后点击作答。</translation>
    </message>
    <message>
      <source>Click where you would place the target on the imaging.</source>
      <translation>请在影像上点击您认为目标应放置的位置。</translation>
    </message>
    <message>
      <source>Click where you would place the target on the picture.</source>
      <translation>在画面上点击您认为目标应在的位置。</translation>
    </message>
    <message>
      <source>Continue</source>
      <translation>继续</translation>
    </message>
    <message>
      <source>Correct: %1.</source>
      <translation>正确：%1。</translation>
    </message>
    <message>
      <source>Desaturation</source>
      <translation>血氧饱和度下降</translation>
    </message>
    <message>
      <source>ECG lead off</source>
      <translation>心电导联脱落</translation>
    </message>
    <message>
      <source>End of recording</source>
      <translation>录制结束</translation>
    </message>
    <message>
      <source>Expert</source>
      <translation>专家</translation>
    </message>
    <message>
      <source>Expert's rhythm</source>
      <translation>专家判断的心律</translation>
    </message>
    <message>
      <source>Hypotension</source>
      <translation>低血压</translation>
    </message>
    <message>
      <source>Next chapter</source>
      <translation>下一章节</translation>
    </message>
    <message>
      <source>No sound: %1</source>
      <translation>无声音：%1</translation>
    </message>
    <message>
      <source>No target drawn on the imaging in this recording.</source>
      <translation>此录制中没有在影像上标注的目标。</translation>
    </message>
    <message>
      <source>No target drawn on the video before this moment.</source>
      <translation>此时刻之前视频上未标注目标。</translation>
    </message>
    <message>
      <source>No video in this recording</source>
      <translation>此录制中没有视频</translation>
    </message>
    <message>
      <source>Normal sinus rhythm</source>
      <translation>正常窦性心律</translation>
    </message>
    <message>
      <source>Not quite: the expert saw %1.</source>
      <translation>不完全正确：专家判断为%1。</translation>
    </message>
    <message>
      <source>Pause</source>
      <translation>暂停</translation>
    </message>
    <message>
      <source>Pause and predict</source>
      <translation>暂停并预测</translation>
    </message>
    <message>
      <source>Pause point added at %1.</source>
      <translation>已在 %1 处添加暂停点。</translation>
    </message>
    <message>
      <source>Paused for a question</source>
      <translation>暂停答题</translation>
    </message>
    <message>
      <source>Picture size</source>
      <translation>画面尺寸</translation>
    </message>
    <message>
      <source>Play</source>
      <translation>播放</translation>
    </message>
    <message>
      <source>Previous chapter</source>
      <translation>上一章节</translation>
    </message>
    <message>
      <source>Question</source>
      <translation>问题</translation>
    </message>
    <message>
      <source>Rhythm</source>
      <translation>心律</translation>
    </message>
    <message>
      <source>ST elevation</source>
      <translation>ST 段抬高</translation>
    </message>
    <message>
      <source>Sinus tachycardia</source>
      <translation>窦性心动过速</translation>
    </message>
    <message>
      <source>Sound</source>
      <translation>声音</translation>
    </message>
    <message>
      <source>Target on the imaging</source>
      <translation>影像上的目标</translation>
    </message>
    <message>
      <source>Target on the picture</source>
      <translation>画面上的目标</translation>
    </message>
    <message>
      <source>The recorded sound, at its pitch, 0.5× to 4×</source>
      <translation>录制的声音，0.5× 至 4× 播放时保持原音调</translation>
    </message>
    <message>
      <source>The recorded sound, played at 1× speed</source>
      <translation type="vanished">录制的声音，仅在 1× 速度下播放</translation>
    </message>
    <message>
      <source>Tolerance</source>
      <translation>容差</translation>
    </message>
    <message>
      <source>Untitled recording</source>
      <translation>未命名录制</translation>
    </message>
    <message>
      <source>Where would you place the needle?</source>
      <translation>您会把针放在哪里？</translation>
    </message>
    <message>
      <source>de-identified teaching file</source>
      <translation>去标识化教学病例</translation>
    </message>
    <message>
      <source>unknown</source>
      <translation>未知</translation>
    </message>
    <message>
      <source>◀ Chapter</source>
      <translation>◀ 章节</translation>
    </message>
  </context>
  <context>
    <name>Report</name>
    <message>
      <source>%1 (%2) — by %3, version %4</source>
      <translation>%1（%2）— %3 撰写，第 %4 版</translation>
    </message>
    <message>
      <source>%1 · %2, version %3</source>
      <translation>%1 · %2，第 %3 版</translation>
    </message>
    <message>
      <source>&amp;Report</source>
      <translation>报告(&amp;R)</translation>
    </message>
    <message>
      <source>(at least: %1 not measured)</source>
      <translation>（至少：%1 未测）</translation>
    </message>
    <message>
      <source>(taken at %1)</source>
      <translation>（%1 采集）</translation>
    </message>
    <message>
      <source>Acknowledge receipt</source>
      <translation>确认收到</translation>
    </message>
    <message>
      <source>Acknowledging receipt…</source>
      <translation>正在确认收到…</translation>
    </message>
    <message>
      <source>Add the image shown</source>
      <translation>添加当前显示的图像</translation>
    </message>
    <message>
      <source>Addendum</source>
      <translation>补充</translation>
    </message>
    <message>
      <source>Addendum (adds to the report)</source>
      <translation>补充（增补报告内容）</translation>
    </message>
    <message>
      <source>Amendment</source>
      <translation>修订</translation>
    </message>
    <message>
      <source>Amendment (new information)</source>
      <translation>修订（新的信息）</translation>
    </message>
    <message>
      <source>Angle</source>
      <translation>角度</translation>
    </message>
    <message>
      <source>Area</source>
      <translation>面积</translation>
    </message>
    <message>
      <source>Awaiting second signature</source>
      <translation>等待第二签名</translation>
    </message>
    <message>
      <source>Checking the signatures…</source>
      <translation>正在核验签名…</translation>
    </message>
    <message>
      <source>Close without a report</source>
      <translation>无报告关闭</translation>
    </message>
    <message>
      <source>Co-sign</source>
      <translation>联合签名</translation>
    </message>
    <message>
      <source>Co-signed: the report is final and has been sent.</source>
      <translation>已联合签名：报告已定稿并已发送。</translation>
    </message>
    <message>
      <source>Co-signed: the report is final. Not yet sent: %1</source>
      <translation>已联合签名：报告已定稿。尚未发送：%1</translation>
    </message>
    <message>
      <source>Co-signing and sending the report…</source>
      <translation>正在联合签名并发送报告…</translation>
    </message>
    <message>
      <source>Consult report</source>
      <translation>会诊报告</translation>
    </message>
    <message>
      <source>Correction</source>
      <translation>更正</translation>
    </message>
    <message>
      <source>Correction (corrects an error)</source>
      <translation>更正（纠正错误）</translation>
    </message>
    <message>
      <source>Dia</source>
      <translation>舒张压</translation>
    </message>
    <message>
      <source>Draft</source>
      <translation>草稿</translation>
    </message>
    <message>
      <source>Draft saved.</source>
      <translation>草稿已保存。</translation>
    </message>
    <message>
      <source>Emergency</source>
      <translation>急诊</translation>
    </message>
    <message>
      <source>Final</source>
      <translation>定稿</translation>
    </message>
    <message>
      <source>Findings</source>
      <translation>所见</translation>
    </message>
    <message>
      <source>Follow-up</source>
      <translation>随访</translation>
    </message>
    <message>
      <source>HR</source>
      <translation>心率</translation>
    </message>
    <message>
      <source>History</source>
      <translation>病史</translation>
    </message>
    <message>
      <source>ID %1</source>
      <translation>ID %1</translation>
    </message>
    <message>
      <source>Image</source>
      <translation>图像</translation>
    </message>
    <message>
      <source>Impression *</source>
      <translation>诊断意见 *</translation>
    </message>
    <message>
      <source>Key image %1</source>
      <translation>关键图像 %1</translation>
    </message>
    <message>
      <source>Key images</source>
      <translation>关键图像</translation>
    </message>
    <message>
      <source>Length</source>
      <translation>长度</translation>
    </message>
    <message>
      <source>MAP</source>
      <translation>平均压</translation>
    </message>
    <message>
      <source>Measurement</source>
      <translation>测量</translation>
    </message>
    <message>
      <source>Measurements (ticked ones go into the report)</source>
      <translation>测量（勾选的写入报告）</translation>
    </message>
    <message>
      <source>Method</source>
      <translation>方法</translation>
    </message>
    <message>
      <source>NEWS2 %1</source>
      <translation>NEWS2 %1</translation>
    </message>
    <message>
      <source>New version ▾</source>
      <translation>新版本 ▾</translation>
    </message>
    <message>
      <source>No consult open: a report belongs to a consult.</source>
      <translation>未打开会诊：报告属于某个会诊。</translation>
    </message>
    <message>
      <source>No image is shown in the imaging panel.</source>
      <translation>影像面板中未显示图像。</translation>
    </message>
    <message>
      <source>No measurements were made on the images.</source>
      <translation>图像上没有测量。</translation>
    </message>
    <message>
      <source>No report awaits your signature.</source>
      <translation>没有等待您签名的报告。</translation>
    </message>
    <message>
      <source>No vital signs known for this consult.</source>
      <translation>本会诊没有已知的生命体征。</translation>
    </message>
    <message>
      <source>Not signed in, or the backend is not ready yet.</source>
      <translation>未登录，或后台尚未就绪。</translation>
    </message>
    <message>
      <source>Opening the report…</source>
      <translation>正在打开报告…</translation>
    </message>
    <message>
      <source>Question</source>
      <translation>问题</translation>
    </message>
    <message>
      <source>RR</source>
      <translation>呼吸</translation>
    </message>
    <message>
      <source>Receipt acknowledged.</source>
      <translation>已确认收到。</translation>
    </message>
    <message>
      <source>Recommendations</source>
      <translation>建议</translation>
    </message>
    <message>
      <source>Rendering the pages…</source>
      <translation>正在渲染页面…</translation>
    </message>
    <message>
      <source>Report</source>
      <translation>报告</translation>
    </message>
    <message>
      <source>Reports to co-sign</source>
      <translation>待联合签名的报告</translation>
    </message>
    <message>
      <source>Reports to co-sign…</source>
      <translation>待联合签名的报告…</translation>
    </message>
    <message>
      <source>Report…</source>
      <translation>报告…</translation>
    </message>
    <message>
      <source>Requested by %1</source>
      <translation>申请人：%1</translation>
    </message>
    <message>
      <source>Routine</source>
      <translation>常规</translation>
    </message>
    <message>
      <source>Save draft</source>
      <translation>保存草稿</translation>
    </message>
    <message>
      <source>Saving the draft…</source>
      <translation>正在保存草稿…</translation>
    </message>
    <message>
      <source>Sign and send for second signature</source>
      <translation>签名并送交第二签名</translation>
    </message>
    <message>
      <source>Signed report</source>
      <translation>已签名报告</translation>
    </message>
    <message>
      <source>Signed. It now awaits a second specialist's signature.</source>
      <translation>已签名。现等待第二位专家签名。</translation>
    </message>
    <message>
      <source>Signing the report… (this takes a few seconds)</source>
      <translation>正在签署报告…（需要几秒钟）</translation>
    </message>
    <message>
      <source>SpO₂</source>
      <translation>血氧</translation>
    </message>
    <message>
      <source>Specialty sections</source>
      <translation>专科部分</translation>
    </message>
    <message>
      <source>Starting a new version…</source>
      <translation>正在创建新版本…</translation>
    </message>
    <message>
      <source>Sys</source>
      <translation>收缩压</translation>
    </message>
    <message>
      <source>Temp</source>
      <translation>体温</translation>
    </message>
    <message>
      <source>The PDF could not be read: %1</source>
      <translation>无法读取该 PDF：%1</translation>
    </message>
    <message>
      <source>The PDF has no pages.</source>
      <translation>该 PDF 没有页面。</translation>
    </message>
    <message>
      <source>The backend is not ready yet.</source>
      <translation>后台尚未就绪。</translation>
    </message>
    <message>
      <source>The image shown is not from this consult's study.</source>
      <translation>显示的图像不属于本会诊的检查。</translation>
    </message>
    <message>
      <source>The impression is needed before the report can be signed.</source>
      <translation>签署报告前必须填写诊断意见。</translation>
    </message>
    <message>
      <source>The pages cannot be shown here: poppler's pdftoppm is not installed.</source>
      <translation>无法在此显示页面：未安装 poppler 的 pdftoppm。</translation>
    </message>
    <message>
      <source>The reason is needed to close.</source>
      <translation>关闭需要填写原因。</translation>
    </message>
    <message>
      <source>The request</source>
      <translation>会诊申请</translation>
    </message>
    <message>
      <source>The specialist has not signed a report for this consult yet.</source>
      <translation>专家尚未签署本会诊的报告。</translation>
    </message>
    <message>
      <source>This consult has no final report. Why does it close without one? (for example: advice given by phone, patient transferred before reporting)</source>
      <translation>本会诊没有定稿报告。为何无报告关闭？（例如：已电话给出建议、报告前患者已转院）</translation>
    </message>
    <message>
      <source>Urgency</source>
      <translation>紧急程度</translation>
    </message>
    <message>
      <source>Urgent</source>
      <translation>紧急</translation>
    </message>
    <message>
      <source>Value</source>
      <translation>数值</translation>
    </message>
    <message>
      <source>View signed PDF</source>
      <translation>查看已签名 PDF</translation>
    </message>
    <message>
      <source>Vital signs</source>
      <translation>生命体征</translation>
    </message>
    <message>
      <source>Warning: this PDF was changed after it was signed (revision %1). Do not rely on it; ask the specialist for the report again.</source>
      <translation>警告：此 PDF 在签名后被修改（修订 %1）。请勿依据它；请向专家重新索取报告。</translation>
    </message>
    <message>
      <source>What the county doctor should do.</source>
      <translation>县医院医生应做什么。</translation>
    </message>
    <message>
      <source>What you saw.</source>
      <translation>您看到了什么。</translation>
    </message>
    <message>
      <source>When and how to call back.</source>
      <translation>何时以及如何回电。</translation>
    </message>
    <message>
      <source>Write the impression before signing.</source>
      <translation>签名前请填写诊断意见。</translation>
    </message>
    <message>
      <source>Your conclusion, in one or two lines.</source>
      <translation>您的结论，一两行即可。</translation>
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
      <source>Calls:</source>
      <translation>通话：</translation>
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
      <source>Managed by your IT department</source>
      <translation>由您的 IT 部门管理</translation>
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
    <name>Stroke</name>
    <message>
      <source>%1 item(s) to score</source>
      <translation>还有 %1 项待评分</translation>
    </message>
    <message>
      <source>%1 left to the 60-minute target.</source>
      <translation>距 60 分钟目标还剩 %1。</translation>
    </message>
    <message>
      <source>%1 so far</source>
      <translation>目前 %1</translation>
    </message>
    <message>
      <source>Absent</source>
      <translation>无</translation>
    </message>
    <message>
      <source>Alert</source>
      <translation>清醒</translation>
    </message>
    <message>
      <source>Answers both correctly</source>
      <translation>两个问题均回答正确</translation>
    </message>
    <message>
      <source>Answers neither correctly</source>
      <translation>两个问题均回答错误</translation>
    </message>
    <message>
      <source>Answers one correctly</source>
      <translation>一个问题回答正确</translation>
    </message>
    <message>
      <source>Best gaze</source>
      <translation>最佳凝视</translation>
    </message>
    <message>
      <source>Best language</source>
      <translation>最佳语言</translation>
    </message>
    <message>
      <source>Bilateral hemianopia</source>
      <translation>双侧偏盲</translation>
    </message>
    <message>
      <source>CT brain (W80 / L40)</source>
      <translation>CT 脑窗 (W80 / L40)</translation>
    </message>
    <message>
      <source>CT done</source>
      <translation>CT 完成</translation>
    </message>
    <message>
      <source>CT to needle</source>
      <translation>CT 至溶栓</translation>
    </message>
    <message>
      <source>Complete hemianopia</source>
      <translation>完全偏盲</translation>
    </message>
    <message>
      <source>Complete paralysis</source>
      <translation>完全面瘫</translation>
    </message>
    <message>
      <source>Door %1</source>
      <translation>入院 %1</translation>
    </message>
    <message>
      <source>Door (arrival)</source>
      <translation>入院(到达)</translation>
    </message>
    <message>
      <source>Door to CT</source>
      <translation>入院至 CT</translation>
    </message>
    <message>
      <source>Door to needle</source>
      <translation>入院至溶栓</translation>
    </message>
    <message>
      <source>Door to needle (target 60 min)</source>
      <translation>入院至溶栓时间(目标 60 分钟)</translation>
    </message>
    <message>
      <source>Drift</source>
      <translation>下垂</translation>
    </message>
    <message>
      <source>Dysarthria</source>
      <translation>构音障碍</translation>
    </message>
    <message>
      <source>Extinction and inattention</source>
      <translation>消退和不注意(忽视)</translation>
    </message>
    <message>
      <source>Facial palsy</source>
      <translation>面瘫</translation>
    </message>
    <message>
      <source>Finding</source>
      <translation>所见</translation>
    </message>
    <message>
      <source>Forced deviation</source>
      <translation>强迫凝视</translation>
    </message>
    <message>
      <source>Inattention in one modality</source>
      <translation>一种感觉模态的忽视或消退</translation>
    </message>
    <message>
      <source>Item</source>
      <translation>项目</translation>
    </message>
    <message>
      <source>LOC commands (eyes, hand)</source>
      <translation>意识水平指令(睁闭眼、握拳)</translation>
    </message>
    <message>
      <source>LOC questions (month, age)</source>
      <translation>意识水平提问(月份、年龄)</translation>
    </message>
    <message>
      <source>Level of consciousness</source>
      <translation>意识水平</translation>
    </message>
    <message>
      <source>Limb ataxia</source>
      <translation>肢体共济失调</translation>
    </message>
    <message>
      <source>Mild-to-moderate</source>
      <translation>轻到中度</translation>
    </message>
    <message>
      <source>Mild-to-moderate aphasia</source>
      <translation>轻到中度失语</translation>
    </message>
    <message>
      <source>Mild-to-moderate loss</source>
      <translation>轻到中度感觉缺失</translation>
    </message>
    <message>
      <source>Minor paralysis</source>
      <translation>轻微面瘫</translation>
    </message>
    <message>
      <source>Motor arm, left</source>
      <translation>左上肢运动</translation>
    </message>
    <message>
      <source>Motor arm, right</source>
      <translation>右上肢运动</translation>
    </message>
    <message>
      <source>Motor leg, left</source>
      <translation>左下肢运动</translation>
    </message>
    <message>
      <source>Motor leg, right</source>
      <translation>右下肢运动</translation>
    </message>
    <message>
      <source>Mute, global aphasia</source>
      <translation>哑或完全失语</translation>
    </message>
    <message>
      <source>NIH Stroke Scale</source>
      <translation>NIH 卒中量表</translation>
    </message>
    <message>
      <source>NIHSS %1 / 42 · %2</source>
      <translation>NIHSS %1 / 42 · %2</translation>
    </message>
    <message>
      <source>NIHSS total</source>
      <translation>NIHSS 总分</translation>
    </message>
    <message>
      <source>Needle (bolus)</source>
      <translation>溶栓(静脉推注)</translation>
    </message>
    <message>
      <source>Needle after the 60-minute target.</source>
      <translation>溶栓给药超出 60 分钟目标。</translation>
    </message>
    <message>
      <source>Needle within target.</source>
      <translation>溶栓给药在目标时间内。</translation>
    </message>
    <message>
      <source>New exam</source>
      <translation>新评估</translation>
    </message>
    <message>
      <source>No abnormality</source>
      <translation>正常</translation>
    </message>
    <message>
      <source>No aphasia</source>
      <translation>无失语</translation>
    </message>
    <message>
      <source>No drift</source>
      <translation>无下垂</translation>
    </message>
    <message>
      <source>No effort against gravity</source>
      <translation>不能抵抗重力</translation>
    </message>
    <message>
      <source>No movement</source>
      <translation>无运动</translation>
    </message>
    <message>
      <source>No visual loss</source>
      <translation>无视野缺损</translation>
    </message>
    <message>
      <source>Normal</source>
      <translation>正常</translation>
    </message>
    <message>
      <source>Not alert, arousable by minor stimulation</source>
      <translation>嗜睡，轻微刺激可唤醒</translation>
    </message>
    <message>
      <source>Not alert, requires repeated stimulation</source>
      <translation>昏睡，需反复刺激</translation>
    </message>
    <message>
      <source>Partial gaze palsy</source>
      <translation>部分凝视麻痹</translation>
    </message>
    <message>
      <source>Partial hemianopia</source>
      <translation>部分偏盲</translation>
    </message>
    <message>
      <source>Partial paralysis</source>
      <translation>部分面瘫</translation>
    </message>
    <message>
      <source>Performs both correctly</source>
      <translation>两项均正确完成</translation>
    </message>
    <message>
      <source>Performs neither correctly</source>
      <translation>两项均未正确完成</translation>
    </message>
    <message>
      <source>Performs one correctly</source>
      <translation>一项正确完成</translation>
    </message>
    <message>
      <source>Present in one limb</source>
      <translation>一个肢体存在</translation>
    </message>
    <message>
      <source>Present in two limbs</source>
      <translation>两个肢体存在</translation>
    </message>
    <message>
      <source>Press Door when the patient arrives.</source>
      <translation>患者到达时请按“入院”。</translation>
    </message>
    <message>
      <source>Profound hemi-inattention</source>
      <translation>严重偏侧忽视</translation>
    </message>
    <message>
      <source>Score / time</source>
      <translation>评分 / 时间</translation>
    </message>
    <message>
      <source>Sensory</source>
      <translation>感觉</translation>
    </message>
    <message>
      <source>Severe</source>
      <translation>严重</translation>
    </message>
    <message>
      <source>Severe aphasia</source>
      <translation>严重失语</translation>
    </message>
    <message>
      <source>Severe to total loss</source>
      <translation>重度至完全感觉缺失</translation>
    </message>
    <message>
      <source>Some effort against gravity</source>
      <translation>能部分抵抗重力</translation>
    </message>
    <message>
      <source>Stroke</source>
      <translation>卒中</translation>
    </message>
    <message>
      <source>Stroke assessment</source>
      <translation>卒中评估</translation>
    </message>
    <message>
      <source>Target missed by %1.</source>
      <translation>超出目标 %1。</translation>
    </message>
    <message>
      <source>UN  untestable</source>
      <translation>UN  无法检测</translation>
    </message>
    <message>
      <source>Unresponsive or reflex responses only</source>
      <translation>昏迷，无反应或仅有反射性反应</translation>
    </message>
    <message>
      <source>Visual fields</source>
      <translation>视野</translation>
    </message>
    <message>
      <source>door-to-CT %1 (target 25:00)</source>
      <translation>入院至 CT %1(目标 25:00)</translation>
    </message>
    <message>
      <source>incomplete</source>
      <translation>未完成</translation>
    </message>
    <message>
      <source>minor stroke</source>
      <translation>轻型卒中</translation>
    </message>
    <message>
      <source>moderate stroke</source>
      <translation>中度卒中</translation>
    </message>
    <message>
      <source>moderate to severe stroke</source>
      <translation>中重度卒中</translation>
    </message>
    <message>
      <source>no stroke symptoms</source>
      <translation>无卒中症状</translation>
    </message>
    <message>
      <source>not given; %1 min since door</source>
      <translation>未给药；入院已 %1 分钟</translation>
    </message>
    <message>
      <source>not marked</source>
      <translation>未记录</translation>
    </message>
    <message>
      <source>not scored</source>
      <translation>未评分</translation>
    </message>
    <message>
      <source>severe stroke</source>
      <translation>重度卒中</translation>
    </message>
    <message>
      <source>target %1 min</source>
      <translation>目标 %1 分钟</translation>
    </message>
    <message>
      <source>untestable</source>
      <translation>无法检查</translation>
    </message>
  </context>
  <context>
    <name>StudyIdentity</name>
    <message>
      <source>Birth date</source>
      <translation>出生日期</translation>
    </message>
    <message>
      <source>Issuer of the ID</source>
      <translation>ID 签发机构</translation>
    </message>
    <message>
      <source>Link and open</source>
      <translation>关联并打开</translation>
    </message>
    <message>
      <source>Link this study to this patient</source>
      <translation>将该检查关联到该患者</translation>
    </message>
    <message>
      <source>Link this study to this patient…</source>
      <translation>将该检查关联到该患者…</translation>
    </message>
    <message>
      <source>Name</source>
      <translation>姓名</translation>
    </message>
    <message>
      <source>Not opened: this study is not of the consult's patient. Nothing of it is shown.</source>
      <translation>未打开：该检查不属于会诊患者，不显示其任何内容。</translation>
    </message>
    <message>
      <source>Patient ID</source>
      <translation>患者 ID</translation>
    </message>
    <message>
      <source>Reason:</source>
      <translation>理由：</translation>
    </message>
    <message>
      <source>Sex</source>
      <translation>性别</translation>
    </message>
    <message>
      <source>The study's identity differs from the consult's patient. Link it only if you are sure it is this patient's (for example an emergency registration under a temporary ID). The link, both identities and your reason are recorded in the audit log.</source>
      <translation>该检查的身份与会诊患者不同。只有在确定它属于该患者时才进行关联（例如急诊时以临时 ID 登记）。关联、双方身份及您的理由都会记录在审计日志中。</translation>
    </message>
    <message>
      <source>The study's patient</source>
      <translation>检查中的患者</translation>
    </message>
    <message>
      <source>This consult's patient</source>
      <translation>本会诊的患者</translation>
    </message>
    <message>
      <source>Why is this study this patient's? (at least %1 characters)</source>
      <translation>为什么该检查属于该患者？（至少 %1 个字符）</translation>
    </message>
    <message>
      <source>Why: %1.</source>
      <translation>原因：%1。</translation>
    </message>
  </context>
  <context>
    <name>TraineeFollow</name>
    <message>
      <source>%1 (%2, with %3)</source>
      <translation>%1（%2，与%3）</translation>
    </message>
    <message>
      <source>Follow</source>
      <translation>跟随</translation>
    </message>
    <message>
      <source>Following %1 — view only</source>
      <translation>正在跟随%1 — 仅观看</translation>
    </message>
    <message>
      <source>Following %1 — you have the annotation tools</source>
      <translation>正在跟随%1 — 您持有标注工具</translation>
    </message>
    <message>
      <source>Following %1 — you have the pointer tool</source>
      <translation>正在跟随%1 — 您持有指针工具</translation>
    </message>
    <message>
      <source>Live sessions</source>
      <translation>直播会诊</translation>
    </message>
    <message>
      <source>No live session of your specialties now. This list refreshes by itself.</source>
      <translation>目前没有您所属专科的直播会诊。此列表会自动刷新。</translation>
    </message>
    <message>
      <source>Stop following</source>
      <translation>停止跟随</translation>
    </message>
    <message>
      <source>View only: the instructor has not handed you a tool.</source>
      <translation>仅观看：带教老师尚未向您移交工具。</translation>
    </message>
    <message>
      <source>Watch this consult live (view only)</source>
      <translation>实时观看此会诊（仅观看）</translation>
    </message>
    <message>
      <source>Your tool does not allow that.</source>
      <translation>您当前的工具不允许此操作。</translation>
    </message>
    <message>
      <source>the instructor</source>
      <translation>带教老师</translation>
    </message>
    <message>
      <source>▶ %1</source>
      <translation>▶ %1</translation>
    </message>
  </context>
  <context>
    <name>Ultrasound</name>
    <message>
      <source>%1 result</source>
      <translation>%1 结果</translation>
    </message>
    <message>
      <source>%1 window(s) to go</source>
      <translation>还剩 %1 个切面</translation>
    </message>
    <message>
      <source>Abdomen</source>
      <translation>腹部</translation>
    </message>
    <message>
      <source>Cardiac</source>
      <translation>心脏</translation>
    </message>
    <message>
      <source>Deep</source>
      <translation>深部</translation>
    </message>
    <message>
      <source>Depth preset (sent to the bedside)</source>
      <translation>深度预设(发送至床旁)</translation>
    </message>
    <message>
      <source>Depth: %1 cm</source>
      <translation>深度：%1 cm</translation>
    </message>
    <message>
      <source>Depth: not set</source>
      <translation>深度：未设置</translation>
    </message>
    <message>
      <source>FAST exam</source>
      <translation>FAST 检查</translation>
    </message>
    <message>
      <source>Finding</source>
      <translation>所见</translation>
    </message>
    <message>
      <source>Inadequate view</source>
      <translation>切面不满意</translation>
    </message>
    <message>
      <source>Incomplete</source>
      <translation>未完成</translation>
    </message>
    <message>
      <source>Indeterminate</source>
      <translation>不确定</translation>
    </message>
    <message>
      <source>Left anterior chest (eFAST)</source>
      <translation>左前胸(eFAST)</translation>
    </message>
    <message>
      <source>Left upper quadrant (splenorenal)</source>
      <translation>左上腹(脾肾隐窝)</translation>
    </message>
    <message>
      <source>Looks for</source>
      <translation>检查目标</translation>
    </message>
    <message>
      <source>Lung</source>
      <translation>肺</translation>
    </message>
    <message>
      <source>Negative</source>
      <translation>阴性</translation>
    </message>
    <message>
      <source>Not assessed</source>
      <translation>未评估</translation>
    </message>
    <message>
      <source>Pelvis</source>
      <translation>盆腔</translation>
    </message>
    <message>
      <source>Pelvis (suprapubic)</source>
      <translation>盆腔(耻骨上)</translation>
    </message>
    <message>
      <source>Point-of-care ultrasound</source>
      <translation>床旁超声</translation>
    </message>
    <message>
      <source>Positive</source>
      <translation>阳性</translation>
    </message>
    <message>
      <source>Right anterior chest (eFAST)</source>
      <translation>右前胸(eFAST)</translation>
    </message>
    <message>
      <source>Right upper quadrant (Morison's pouch)</source>
      <translation>右上腹(肝肾隐窝)</translation>
    </message>
    <message>
      <source>Subxiphoid cardiac</source>
      <translation>剑突下心脏</translation>
    </message>
    <message>
      <source>Time</source>
      <translation>时间</translation>
    </message>
    <message>
      <source>Window</source>
      <translation>切面</translation>
    </message>
    <message>
      <source>Windows</source>
      <translation>切面</translation>
    </message>
    <message>
      <source>absent lung sliding</source>
      <translation>肺滑动征消失</translation>
    </message>
    <message>
      <source>eFAST exam</source>
      <translation>eFAST 检查</translation>
    </message>
    <message>
      <source>eFAST: include both lung windows</source>
      <translation>eFAST：包括双侧肺部切面</translation>
    </message>
    <message>
      <source>free fluid</source>
      <translation>游离液体</translation>
    </message>
    <message>
      <source>pericardial effusion</source>
      <translation>心包积液</translation>
    </message>
  </context>
  <context>
    <name>UsGuidance</name>
    <message>
      <source>%1 mm</source>
      <translation>%1 mm</translation>
    </message>
    <message>
      <source>%1 mm (depth calibration)</source>
      <translation>%1 mm（深度校准）</translation>
    </message>
    <message>
      <source>%1 mm per pixel</source>
      <translation>%1 mm/像素</translation>
    </message>
    <message>
      <source>Angle %1°</source>
      <translation>角度 %1°</translation>
    </message>
    <message>
      <source>Angle to skin</source>
      <translation>与皮肤夹角</translation>
    </message>
    <message>
      <source>Apply</source>
      <translation>应用</translation>
    </message>
    <message>
      <source>Calibrate depth</source>
      <translation>深度校准</translation>
    </message>
    <message>
      <source>Calibrate the depth to see millimetres</source>
      <translation>进行深度校准后可显示毫米值</translation>
    </message>
    <message>
      <source>Click the entry point</source>
      <translation>单击入针点</translation>
    </message>
    <message>
      <source>Click the entry point, then the target</source>
      <translation>先单击入针点，再单击靶点</translation>
    </message>
    <message>
      <source>Click the needle tip</source>
      <translation>单击针尖</translation>
    </message>
    <message>
      <source>Click the second mark on the depth ruler</source>
      <translation>单击深度标尺上的第二个刻度</translation>
    </message>
    <message>
      <source>Click the target</source>
      <translation>单击靶点</translation>
    </message>
    <message>
      <source>Click two marks on the depth ruler</source>
      <translation>单击深度标尺上的两个刻度</translation>
    </message>
    <message>
      <source>Click two marks on the scanner's depth ruler and type their distance</source>
      <translation>单击超声仪深度标尺上的两个刻度并输入其间距</translation>
    </message>
    <message>
      <source>Click where the needle tip is now</source>
      <translation>单击针尖当前位置</translation>
    </message>
    <message>
      <source>Depth %1 mm</source>
      <translation>深度 %1 mm</translation>
    </message>
    <message>
      <source>Mark needle tip</source>
      <translation>标记针尖</translation>
    </message>
    <message>
      <source>Path %1 mm</source>
      <translation>路径 %1 mm</translation>
    </message>
    <message>
      <source>Path length</source>
      <translation>路径长度</translation>
    </message>
    <message>
      <source>Plan needle path</source>
      <translation>规划穿刺路径</translation>
    </message>
    <message>
      <source>Remaining to target</source>
      <translation>距靶点剩余</translation>
    </message>
    <message>
      <source>Scale</source>
      <translation>比例尺</translation>
    </message>
    <message>
      <source>Target depth</source>
      <translation>靶点深度</translation>
    </message>
    <message>
      <source>To target %1 mm</source>
      <translation>距靶点 %1 mm</translation>
    </message>
    <message>
      <source>Type the distance between the marks, then Apply</source>
      <translation>输入刻度间距，然后单击“应用”</translation>
    </message>
    <message>
      <source>not calibrated</source>
      <translation>未校准</translation>
    </message>
  </context>
  <context>
    <name>UserAdmin</name>
    <message>
      <source>Disable</source>
      <translation>停用</translation>
    </message>
    <message>
      <source>Enable</source>
      <translation>启用</translation>
    </message>
    <message>
      <source>Failed: {message}</source>
      <translation>失败：{message}</translation>
    </message>
    <message>
      <source>Name</source>
      <translation>姓名</translation>
    </message>
    <message>
      <source>New password for {user} (at least 10 characters):</source>
      <translation>{user} 的新密码（至少 10 个字符）：</translation>
    </message>
    <message>
      <source>Password of {user} reset; their sessions were ended.</source>
      <translation>已重置 {user} 的密码；其会话已结束。</translation>
    </message>
    <message>
      <source>Refresh</source>
      <translation>刷新</translation>
    </message>
    <message>
      <source>Reset password</source>
      <translation>重置密码</translation>
    </message>
    <message>
      <source>Reset password…</source>
      <translation>重置密码…</translation>
    </message>
    <message>
      <source>Role</source>
      <translation>角色</translation>
    </message>
    <message>
      <source>State</source>
      <translation>状态</translation>
    </message>
    <message>
      <source>Unlock</source>
      <translation>解锁</translation>
    </message>
    <message>
      <source>User name</source>
      <translation>用户名</translation>
    </message>
    <message>
      <source>active</source>
      <translation>正常</translation>
    </message>
    <message>
      <source>disabled</source>
      <translation>已停用</translation>
    </message>
    <message>
      <source>locked</source>
      <translation>已锁定</translation>
    </message>
    <message>
      <source>{user} disabled.</source>
      <translation>已停用 {user}。</translation>
    </message>
    <message>
      <source>{user} enabled.</source>
      <translation>已启用 {user}。</translation>
    </message>
    <message>
      <source>{user} unlocked.</source>
      <translation>已解锁 {user}。</translation>
    </message>
  </context>
  <context>
    <name>Worklist</name>
    <message>
      <source>%1 waiting, %2 past the target</source>
      <translation>%1 个等待中，%2 个已超时</translation>
    </message>
    <message>
      <source>%1 — %2</source>
      <translation>%1 — %2</translation>
    </message>
    <message>
      <source>%1, %2</source>
      <translation>%1，%2</translation>
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
      <source>An empty outcome cannot be saved: the record must say what was decided (for example: treated locally, transferred, follow-up in 2 weeks).</source>
      <translation>不能保存空的结论：记录必须写明所作的决定（例如：本地治疗、转院、2 周后复查）。</translation>
    </message>
    <message>
      <source>Answer in writing…</source>
      <translation>书面答复…</translation>
    </message>
    <message>
      <source>Answer: %1</source>
      <translation>答复：%1</translation>
    </message>
    <message>
      <source>Answered</source>
      <translation>已答复</translation>
    </message>
    <message>
      <source>Attached</source>
      <translation>已附加</translation>
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
      <source>Downloading %1%</source>
      <translation>正在下载 %1%</translation>
    </message>
    <message>
      <source>Emergency</source>
      <translation>紧急</translation>
    </message>
    <message>
      <source>Failed</source>
      <translation>失败</translation>
    </message>
    <message>
      <source>Female</source>
      <translation>女</translation>
    </message>
    <message>
      <source>In session</source>
      <translation>会诊中</translation>
    </message>
    <message>
      <source>Male</source>
      <translation>男</translation>
    </message>
    <message>
      <source>New requests appear here as soon as they are sent.</source>
      <translation>新的会诊请求一经发送即在此显示。</translation>
    </message>
    <message>
      <source>New request…</source>
      <translation>新建申请…</translation>
    </message>
    <message>
      <source>No consultation requests</source>
      <translation>没有会诊请求</translation>
    </message>
    <message>
      <source>Not here</source>
      <translation>本地无</translation>
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
      <source>Other sex</source>
      <translation>其他性别</translation>
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
      <source>Ready</source>
      <translation>就绪</translation>
    </message>
    <message>
      <source>Refresh</source>
      <translation>刷新</translation>
    </message>
    <message>
      <source>Report</source>
      <translation>报告</translation>
    </message>
    <message>
      <source>Report acknowledged</source>
      <translation>报告已确认收到</translation>
    </message>
    <message>
      <source>Report final — acknowledge</source>
      <translation>报告已定稿 — 请确认</translation>
    </message>
    <message>
      <source>Report: awaiting second signature</source>
      <translation>报告：等待第二签名</translation>
    </message>
    <message>
      <source>Report: draft</source>
      <translation>报告：草稿</translation>
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
      <source>Sex unknown</source>
      <translation>性别未知</translation>
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
      <source>Study</source>
      <translation>检查</translation>
    </message>
    <message>
      <source>The patient's identity is shown once you accept the request.</source>
      <translation>接受请求后将显示患者身份信息。</translation>
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
    <message>
      <source>age unknown</source>
      <translation>年龄未知</translation>
    </message>
  </context>
</TS>
